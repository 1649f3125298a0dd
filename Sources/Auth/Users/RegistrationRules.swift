import Foundation

/// What `POST /api/auth/register` checks before it touches the database (docs/auth.md lists the
/// same rules). Every rule that fails is reported, not only the first, so a form can show them all.
public enum RegistrationRules {
    /// One failed rule: the field it is about, a stable code and a sentence for people.
    public struct Failure: Equatable, Sendable, Codable {
        public let field: String
        public let rule: String
        public let message: String

        public init(_ field: String, _ rule: String, _ message: String) {
            self.field = field
            self.rule = rule
            self.message = message
        }
    }

    public static let minimumPasswordLength = 10
    /// BCrypt reads at most 72 bytes; a longer password would be cut silently, so it is refused.
    public static let maximumPasswordBytes = 72
    public static let usernameLength = 3...32
    public static let maximumNameLength = 100
    public static let maximumEmailBytes = 254

    /// Every failed rule of the registration's fields (empty: it may be registered).
    public static func check(_ r: RegistrationRequest) -> [Failure] {
        var failures = email(r.email) + username(r.username)
        failures += password(r.password, username: r.username, email: r.email)
        if let first = r.firstName { failures += name(first, field: "firstName") }
        if let last = r.lastName { failures += name(last, field: "lastName") }
        if let tckn = r.tckn, let problem = TCKN.problem(tckn) {
            failures.append(Failure("tckn", problem == .format ? "format" : "checksum", problem.description))
        }
        return failures
    }

    /// An address as mail systems accept it: one `@`, a local part of 1 to 64 ASCII characters
    /// (letters, digits and ``.!#$%&'*+/=?^_`{|}~-``, dots not first, last or doubled), and a
    /// domain of dot-separated labels of letters, digits and inner hyphens (international domains
    /// in their `xn--` form), with at least one dot.
    public static func email(_ text: String) -> [Failure] {
        let fail = [Failure("email", "format", "an email address is local-part@domain.tld in ASCII (international domains in their xn-- form), at most 254 characters")]
        guard !text.isEmpty, text.utf8.count <= maximumEmailBytes else { return fail }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return fail }
        let local = parts[0].utf8, domain = parts[1]
        let localSpecials = Set("!#$%&'*+/=?^_`{|}~-.".utf8)
        guard (1...64).contains(local.count), local.allSatisfy({ isAlphanumeric($0) || localSpecials.contains($0) }),
              local.first != UInt8(ascii: "."), local.last != UInt8(ascii: "."), !parts[0].contains("..") else { return fail }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
                && label.utf8.first != UInt8(ascii: "-") && label.utf8.last != UInt8(ascii: "-")
        }), labels.last!.utf8.allSatisfy({ !(48...57).contains($0) }) else { return fail }
        return []
    }

    /// 3 to 32 characters: letters (Turkish ones too), digits, `_`, `.` and `-`, starting with a
    /// letter. No `@`, so that logging in with "email or username" is never ambiguous.
    public static func username(_ text: String) -> [Failure] {
        let scalars = text.unicodeScalars
        guard usernameLength.contains(text.count) else {
            return [Failure("username", "length", "a username has \(usernameLength.lowerBound) to \(usernameLength.upperBound) characters")]
        }
        let allowed = scalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
        guard allowed, scalars.first!.properties.isAlphabetic else {
            return [Failure("username", "characters", "a username starts with a letter and has only letters, digits, _ . and -")]
        }
        return []
    }

    /// Length (10 characters to 72 bytes), a lowercase and an uppercase letter, a digit and a
    /// character that is neither, and neither the username nor the email's local part in it.
    public static func password(_ text: String, username: String, email: String) -> [Failure] {
        var failures: [Failure] = []
        func rule(_ code: String, _ message: String) { failures.append(Failure("password", code, message)) }
        if text.count < minimumPasswordLength { rule("length", "a password has at least \(minimumPasswordLength) characters") }
        if text.utf8.count > maximumPasswordBytes { rule("too_long", "a password has at most \(maximumPasswordBytes) bytes (UTF-8)") }
        let scalars = text.unicodeScalars
        if !scalars.contains(where: { $0.properties.isLowercase }) { rule("lowercase", "a password has a lowercase letter") }
        if !scalars.contains(where: { $0.properties.isUppercase }) { rule("uppercase", "a password has an uppercase letter") }
        if !scalars.contains(where: { ("0"..."9").contains($0) }) { rule("digit", "a password has a digit") }
        if !scalars.contains(where: { !$0.properties.isAlphabetic && !("0"..."9").contains($0) }) {
            rule("symbol", "a password has a character that is neither a letter nor a digit")
        }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { rule("control", "a password has no control characters") }
        let key = IdentityKey.of(text)
        if username.count >= usernameLength.lowerBound, key.contains(IdentityKey.of(username)) { rule("contains_username", "a password does not contain the username") }
        if let local = email.split(separator: "@").first, local.count >= 3, key.contains(IdentityKey.of(String(local))) {
            rule("contains_email", "a password does not contain the email address's name")
        }
        return failures
    }

    /// 1 to 100 characters: letters of any script (ı, ğ, ş, İ, ç, ö, ü and the rest), spaces,
    /// and `'`, `-`, `.` between them.
    public static func name(_ text: String, field: String) -> [Failure] {
        let scalars = text.unicodeScalars
        guard (1...maximumNameLength).contains(text.count), text.trimmingCharacters(in: .whitespaces) == text,
              scalars.allSatisfy({ $0.properties.isAlphabetic || $0.properties.generalCategory == .nonspacingMark || " '-.’".unicodeScalars.contains($0) }),
              scalars.contains(where: { $0.properties.isAlphabetic }) else {
            return [Failure(field, "format", "a name has 1 to \(maximumNameLength) characters: letters, spaces, ' - and ., and no spaces at either end")]
        }
        return []
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b)
    }
}

/// The body of `POST /api/auth/register`.
public struct RegistrationRequest: Codable, Sendable {
    public var email: String
    public var username: String
    public var password: String
    public var firstName: String?
    public var lastName: String?
    /// The Turkish identity number, optional (checked when given).
    public var tckn: String?

    public init(email: String, username: String, password: String, firstName: String? = nil, lastName: String? = nil, tckn: String? = nil) {
        self.email = email
        self.username = username
        self.password = password
        self.firstName = firstName
        self.lastName = lastName
        self.tckn = tckn
    }
}
