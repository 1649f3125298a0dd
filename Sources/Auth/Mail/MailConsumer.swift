import Events
import Foundation
import Logging
import PostgresNIO

/// Sends the mail a user event asked for (the verification mail of `UserRegistered`): a consumer of
/// the event store, so a registration never waits for or fails with the mail system; a mail that
/// cannot be sent is retried with backoff and ends in the dead letters (`akis events dlq`). The
/// message waits in `auth_mail_outbox` under the event's id and is removed when sent, in the
/// consumer's transaction.
struct MailConsumer: EventConsumer {
    let name = "auth-mail"
    let topics: [Topic] = [.user]
    let mailer: Mailer
    let logger: Logger

    func handle(_ event: StoredEvent, on connection: PostgresConnection) async throws {
        let rows = try await connection.query("""
            DELETE FROM auth_mail_outbox WHERE event_id = \(event.id) RETURNING recipient, subject, body
            """, logger: logger)
        for try await (recipient, subject, body) in rows.decode((String, String, String).self) {
            let message = MailMessage(from: mailer.from, to: recipient, subject: subject, body: body, id: event.id)
            // The send blocks (a file, or a child process): off the cooperative pool's threads.
            let mailer = mailer
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                Thread { continuation.resume(with: Result { try mailer.send(message) }) }.start()
            }
            logger.info("auth: sent \(event.type) mail \(event.id)")
        }
    }
}
