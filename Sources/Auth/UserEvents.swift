import Events
import Foundation

/// The auth module's events whose shape more than one place writes.
extension Event {
    /// `UserRegistered`, keyed by the user's id, with the reference's fields.
    static func userRegistered(id: UUID, email: String, source: String, level: String) -> Event {
        let key = id.uuidString.lowercased()
        return Event(.userRegistered, key: key, data: [
            ("userId", .string(key)), ("email", .string(email)), ("registrationSource", .string(source)), ("subscriptionLevel", .string(level)),
        ])
    }
}
