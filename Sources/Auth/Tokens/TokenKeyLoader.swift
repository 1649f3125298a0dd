import Crypto
import Foundation

/// Reads the configured keys (`[[auth.keys]]`) from where they are kept, or, when none is
/// configured, the one HS256 secret in `key_file`, made on first start (48 random bytes, mode
/// 0600). Errors name the key and where it was looked for, never its material.
enum TokenKeyLoader {
    static func load(_ settings: AuthSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> (keys: [(kid: String, algorithm: AuthSettings.Key.Algorithm, material: AccessTokens.KeyMaterial)], signingKid: String) {
        guard !settings.keys.isEmpty else {
            return ([("default", .hs256, .secret(try generatedSecret(at: settings.keyFile)))], "default")
        }
        var keys: [(kid: String, algorithm: AuthSettings.Key.Algorithm, material: AccessTokens.KeyMaterial)] = []
        for key in settings.keys {
            let text: String?
            switch key.secret {
            case .inline(let value): text = value
            case .environment(let name):
                guard let value = environment[name], !value.isEmpty else { throw AuthConfigurationError("[auth] key \(key.kid): the environment has no \(name)") }
                text = value
            case .file(let path): text = try read(path, for: key.kid)
            case nil: text = nil
            }
            switch (key.algorithm, text) {
            case (.hs256, let secret?):
                let bytes = Array(secret.trimmingCharacters(in: .newlines).utf8)
                guard bytes.count >= 32 else { throw AuthConfigurationError("[auth] key \(key.kid): an HS256 secret has at least 32 bytes") }
                keys.append((key.kid, .hs256, .secret(bytes)))
            case (_, let pem?): keys.append((key.kid, key.algorithm, .privatePEM(pem)))
            case (_, nil): keys.append((key.kid, key.algorithm, .publicPEM(try read(key.publicKeyFile ?? "", for: key.kid))))
            }
        }
        return (keys, settings.signingKid ?? settings.keys[0].kid)
    }

    private static func read(_ path: String, for kid: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw AuthConfigurationError("[auth] key \(kid): cannot read \(path)")
        }
        return text
    }

    /// The secret in `path`, made there first if the file does not exist.
    static func generatedSecret(at path: String) throws -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path) {
            let secret = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            guard secret.count >= 32 else { throw AuthConfigurationError("[auth] key_file \(path) holds fewer than 32 bytes; remove it to have a new key made") }
            return secret
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AuthConfigurationError("[auth] key_file: cannot create \(directory): \((error as NSError).localizedDescription)")
        }
        let secret = Array(Data(SymmetricKey(size: .init(bitCount: 384)).withUnsafeBytes { Array($0) }).base64EncodedString().utf8)
        // Created with 0600 from the start; O_EXCL: two daemons starting at once do not both write.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { return try generatedSecret(at: path) }
            throw AuthConfigurationError("[auth] key_file: cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let line = secret + [10]
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count, fsync(fd) == 0 else {
            throw AuthConfigurationError("[auth] key_file: cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return secret
    }
}
