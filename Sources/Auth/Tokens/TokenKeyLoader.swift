import AkisConfig
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
            let publicKey: String?
            do {
                text = try key.secret?.read(environment: environment)
                publicKey = text == nil ? try SecretSource.file(key.publicKeyFile ?? "").read() : nil
            } catch {
                throw AuthConfigurationError("[auth] key \(key.kid): \(error)")
            }
            switch (key.algorithm, text) {
            case (.hs256, let secret?):
                let bytes = Array(secret.trimmingCharacters(in: .newlines).utf8)
                guard bytes.count >= 32 else { throw AuthConfigurationError("[auth] key \(key.kid): an HS256 secret has at least 32 bytes") }
                keys.append((key.kid, .hs256, .secret(bytes)))
            case (_, let pem?): keys.append((key.kid, key.algorithm, .privatePEM(pem)))
            case (_, nil): keys.append((key.kid, key.algorithm, .publicPEM(publicKey ?? "")))
            }
        }
        return (keys, settings.signingKid ?? settings.keys[0].kid)
    }

    /// The secret in `path`, made there first if the file does not exist (48 random bytes).
    static func generatedSecret(at path: String) throws -> [UInt8] {
        let secret: String
        do { secret = try SecretSource.generatedFile(at: path, bytes: 48) } catch { throw AuthConfigurationError("[auth] key_file: \(error)") }
        guard secret.utf8.count >= 32 else { throw AuthConfigurationError("[auth] key_file \(path) holds fewer than 32 bytes; remove it to have a new key made") }
        return Array(secret.utf8)
    }
}
