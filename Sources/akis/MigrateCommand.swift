import AkisConfig
import ArgumentParser
import Daemon
import Foundation
import Store

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the database schema of every module up to date (akis serve also does this at start).",
        discussion: "Uses TimescaleDB when the server offers it, native partitioning otherwise. Each migration runs in its own transaction; running it again does nothing.")

    @Option(help: "Configuration file (TOML) whose [database] url to use.") var config: String?
    @Option(help: "A libpq connection string; overrides the configuration's.") var database: String?

    func run() throws {
        let url = try databaseURL(database: database, config: config)
        let db = try LibpqConnection(conninfo: url)
        let layout = try StorageLayout.detect(db)
        print("layout: \(layout.rawValue)")
        let report = try Migrator(layout: layout, schemas: Daemon.schemas(Serve.modules)).run(on: db) { module, m in
            print("\(module): applying migration \(m.version): \(m.name)")
        }
        for m in report.modules {
            print("\(m.module): " + (m.applied.isEmpty ? "schema is up to date at version \(m.current)" : "schema now at version \(m.current)"))
        }
    }
}
