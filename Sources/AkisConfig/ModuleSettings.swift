/// The configuration section a module of the daemon owns: `[events]`, `[auth]`. It is read by the
/// same parser as the rest of the file, into the one `AkisConfiguration`, with the same strictness:
/// every key a module does not read is an error naming the key and its line.
public protocol ModuleSettings: Sendable {
    /// The table it is read from (a top-level TOML table of its own).
    static var section: String { get }
    /// The defaults, when the file has no such table.
    init()
    /// Reads the table's keys over the defaults; `ConfigSection`'s readers name key and line in
    /// their errors (use `section.fail(key, why)` for a rule of its own).
    mutating func read(_ section: inout ConfigSection) throws(ConfigError)
    /// One line for `serve --check-config`: what it resolves to, never a secret.
    var summary: String { get }
}
