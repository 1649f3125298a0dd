import Foundation

/// Where a secret is kept, as a configuration names it: in the file itself (`secret = "…"`), in
/// an environment variable (`secret_env`), or in a file (`secret_file`). Reading it never puts
/// the secret into an error; `description` says only where it is.
public enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    case inline(String)
    case environment(String)
    case file(String)

    /// The secret's text, without the trailing newline a file usually has.
    public func read(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> String {
        switch self {
        case .inline(let value): return value
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else { throw ConfigError("the environment has no \(name)") }
            return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read \(path)") }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
    }

    public var description: String {
        switch self {
        case .inline: "inline"
        case .environment(let name): "from $\(name)"
        case .file(let path): "from \(path)"
        }
    }

    /// The secret in `path`, made there first when the file does not exist: `bytes` random bytes
    /// as base64 on one line, the file created with mode 0600 (O_EXCL: two processes starting
    /// at once do not both write) in a directory created with 0700.
    public static func generatedFile(at path: String, bytes: Int) throws(ConfigError) -> String {
        if let data = FileManager.default.contents(atPath: path) {
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ConfigError("cannot create \(directory): \((error as NSError).localizedDescription)")
        }
        var generator = SystemRandomNumberGenerator()
        let secret = Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { return try generatedFile(at: path, bytes: bytes) }
            throw ConfigError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let line = Array(secret.utf8) + [10]
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count, fsync(fd) == 0 else {
            throw ConfigError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return secret
    }
}

extension ConfigSection {
    /// A secret given by one of `KEY`, `KEY_env` or `KEY_file` (nil when none is); more than one
    /// is an error naming them.
    public mutating func secret(_ key: String) throws(ConfigError) -> SecretSource? {
        let sources = [try string(key).map(SecretSource.inline), try string(key + "_env").map(SecretSource.environment),
                       try string(key + "_file").map(SecretSource.file)].compactMap { $0 }
        guard sources.count <= 1 else { throw fail(key, "give it once: \(key), \(key)_env or \(key)_file") }
        return sources.first
    }
}
