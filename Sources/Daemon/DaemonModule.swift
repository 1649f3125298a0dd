import AkisConfig
import Hummingbird
import ServiceLifecycle
import Store

/// A part of `akis serve`, and all the daemon needs to know about it. A module is built once at
/// start from the shared `ModuleContext`; the daemon then takes from it, for every module alike:
/// - its **configuration section**, read with the rest of the file;
/// - its **migrations**, applied in the order the modules are assembled and recorded under its
///   name (static, so that `akis migrate` needs no running module);
/// - its **routes**, added to the one HTTP server;
/// - its **services**, run in the one service group: they start together and stop in reverse
///   order, after the modules assembled after it have stopped;
/// - its **metrics** and **readiness checks**, registered in the context while it is built.
///
/// Adding a module is a folder with a type that conforms, and one line in `Serve`'s assembly
/// (docs/architecture.md).
public protocol DaemonModule: Sendable {
    /// Names the module in logs, `/readyz` and `akis_schema_migrations` (lowercase, stable).
    static var name: String { get }
    /// The module's schema, oldest first. Versions count per module; released ones never change.
    static var migrations: [Migration] { get }
    /// Its configuration section, if it has one: read with the rest of the file, into the one
    /// `AkisConfiguration` (`context.configuration.settings(MySettings.self)`).
    static var settings: (any ModuleSettings.Type)? { get }
    /// Builds the module: binds what it listens on, registers its metrics and readiness checks.
    /// An error (a `DaemonError` says it best) stops the daemon before anything runs.
    init(context: ModuleContext) throws
    /// Adds the module's HTTP routes.
    func addRoutes(to router: Router<DaemonRequestContext>)
    /// The module's long-running parts, in start order; they stop in reverse order.
    var services: [any Service] { get }
    /// What the module listens on besides HTTP, for `serve --ready-file` ("feed NAME HOST:PORT").
    var listening: [String] { get }
    /// Log lines saying what the module serves, once the HTTP server listens at `httpAddress`.
    func serving(at httpAddress: String) -> [String]
}

extension DaemonModule {
    public static var migrations: [Migration] { [] }
    public static var settings: (any ModuleSettings.Type)? { nil }
    public func addRoutes(to router: Router<DaemonRequestContext>) {}
    public var services: [any Service] { [] }
    public var listening: [String] { [] }
    public func serving(at httpAddress: String) -> [String] { [] }
}
