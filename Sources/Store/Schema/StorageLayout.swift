/// Which storage layout the database gets: TimescaleDB hypertables when the extension is
/// installed on the server, native PostgreSQL partitioning otherwise. Both keep the same tables,
/// columns and candle views, so every query works on either.
public enum StorageLayout: String, Sendable, Equatable {
    case timescale
    case plain

    /// TimescaleDB when the server can load the extension (installed on disk and preloaded, or
    /// already created in this database), plain PostgreSQL otherwise.
    public static func detect(_ db: LibpqConnection) throws -> StorageLayout {
        let r = try db.execute("""
            SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
                OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
                    AND current_setting('shared_preload_libraries') ~ 'timescaledb')
            """)
        return r.rows.first?[0] == "t" ? .timescale : .plain
    }
}
