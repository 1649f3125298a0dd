/// The mail that asks a new user to verify their address: plain text, with the link that does it.
struct VerificationMail {
    let to: String
    let username: String
    let link: String
    let validHours: Int

    var subject: String { "Verify your email address for Akis" }

    var body: String {
        """
        Hello \(username),

        please verify your email address by opening this link within \(validHours) hours:

        \(link)

        If you did not register with Akis, ignore this mail: the account stays unverified.
        """
    }
}
