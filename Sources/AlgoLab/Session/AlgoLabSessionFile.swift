import Crypto
import Foundation

/// The session `akis algolab login` leaves for the daemon: the hash (a bearer secret for the
/// account), sealed with AES-GCM under the session key, written atomically with mode 0600.
/// The key's fingerprint of the API key is kept with it, so a session of another key is refused.
public struct AlgoLabSessionFile: Sendable {
    public struct Session: Sendable, Equatable {
        public var hash: String
        /// When the login completed, UTC ns.
        public var created: Int64
        public init(hash: String, created: Int64) {
            self.hash = hash
            self.created = created
        }
    }

    public let path: String
    private let key: SymmetricKey
    private let apiKeyFingerprint: String

    /// `sessionKey`: 32 bytes, base64 (as `SecretSource.generatedFile` makes them).
    public init(path: String, sessionKey: String, apiKey: AlgoLabAPIKey) throws(AlgoLabError) {
        guard let bytes = Data(base64Encoded: sessionKey), bytes.count == 32 else {
            throw .configuration("the session key is not 32 bytes of base64 (make one with: head -c 32 /dev/urandom | base64)")
        }
        self.path = path
        key = SymmetricKey(data: bytes)
        apiKeyFingerprint = String(SHA256.hash(data: Array(apiKey.header.utf8)).map { String(format: "%02x", $0) }.joined().prefix(16))
    }

    /// The stored session, or nil when there is none.
    public func load() throws(AlgoLabError) -> Session? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let sealed = Data(base64Encoded: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
              let box = try? AES.GCM.SealedBox(combined: sealed), let plain = try? AES.GCM.open(box, using: key),
              let stored = try? JSONDecoder().decode(Stored.self, from: plain)
        else {
            throw .configuration("\(path) cannot be opened with the session key (another key, or damaged); run `akis algolab login` again")
        }
        guard stored.apiKey == apiKeyFingerprint else {
            throw .configuration("\(path) holds a session of another API key; run `akis algolab login` again")
        }
        return Session(hash: stored.hash, created: stored.created)
    }

    /// Replaces the stored session (write to a temporary file, fsync, rename).
    public func save(_ session: Session) throws(AlgoLabError) {
        let plain = try! JSONEncoder().encode(Stored(hash: session.hash, created: session.created, apiKey: apiKeyFingerprint))
        let sealed = try! AES.GCM.seal(plain, using: key).combined!.base64EncodedString() + "\n"
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .configuration("cannot create \(directory): \((error as NSError).localizedDescription)")
        }
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw .configuration("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(sealed.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .configuration("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// When the file last changed (to notice a new login), or nil when there is none.
    public func modified() -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    private struct Stored: Codable {
        var hash: String
        var created: Int64
        var apiKey: String
    }
}
