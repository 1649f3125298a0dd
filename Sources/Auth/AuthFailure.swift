/// A request the auth module refuses: the HTTP status, a stable code clients can switch on, a
/// sentence for people, and what else the reply carries (the failed rules, when a lock ends).
public struct AuthFailure: Error, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String
    public var rules: [RegistrationRules.Failure] = []
    /// Extra string fields of the reply (`lockedUntil`, …).
    public var fields: [String: String] = [:]
    /// Seconds for a `Retry-After` header.
    public var retryAfter: Int?

    public init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// Unknown user and wrong password alike: one body, so a reply never tells which.
    static let invalidCredentials = AuthFailure(401, "invalid_credentials", "the email or username and password do not match an account")
    static func badRequest(_ message: String) -> AuthFailure { AuthFailure(400, "bad_request", message) }
}
