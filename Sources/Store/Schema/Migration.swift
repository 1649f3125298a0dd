/// One versioned step of the schema. Each runs in its own transaction, once: the versions that
/// ran are recorded in `akis_schema_migrations`.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// The SQL for a layout. The same version must leave the same tables and columns on both.
    public let sql: @Sendable (StorageLayout) -> String

    public init(version: Int, name: String, sql: @escaping @Sendable (StorageLayout) -> String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

extension Migration {
    /// Every migration, in order. Append only: a released migration never changes.
    public static let all: [Migration] = [
        Migration(version: 1, name: "market_ticks, ingest checkpoints", sql: { layout in
            let columns = """
                time timestamptz NOT NULL,
                symbol text NOT NULL CONSTRAINT market_ticks_symbol_format
                    CHECK (symbol ~ '^[A-Z][A-Z0-9]{0,7}(\\.[A-Z0-9]{1,3})?$'),
                price bigint NOT NULL CONSTRAINT market_ticks_price_nonnegative CHECK (price >= 0),
                volume bigint NOT NULL CONSTRAINT market_ticks_volume_nonnegative CHECK (volume >= 0),
                bid bigint,
                ask bigint,
                feed smallint NOT NULL,
                seq bigint NOT NULL,
                kind smallint NOT NULL CONSTRAINT market_ticks_kind CHECK (kind IN (1, 2)),
                side smallint NOT NULL CONSTRAINT market_ticks_side CHECK (side IN (0, 1, 2)),
                receive_time timestamptz NOT NULL
                """
            let table: String
            switch layout {
            case .timescale:
                table = """
                    CREATE EXTENSION IF NOT EXISTS timescaledb;
                    CREATE TABLE market_ticks (\(columns));
                    SELECT create_hypertable('market_ticks', 'time', chunk_time_interval => INTERVAL '1 day');
                    """
            case .plain:
                table = """
                    CREATE TABLE market_ticks (\(columns)) PARTITION BY RANGE (time);
                    -- Rows whose day has no partition yet land here; the writer creates each day's
                    -- partition before it writes that day, so this stays empty in normal operation.
                    CREATE TABLE market_ticks_default PARTITION OF market_ticks DEFAULT;

                    -- Creates the partition for one UTC day (idempotent). Named market_ticks_pYYYYMMDD.
                    CREATE FUNCTION akis_ensure_tick_partition(day date) RETURNS void LANGUAGE plpgsql AS $$
                    DECLARE
                        name text := 'market_ticks_p' || to_char(day, 'YYYYMMDD');
                    BEGIN
                        IF to_regclass(name) IS NULL THEN
                            EXECUTE format('CREATE TABLE %I PARTITION OF market_ticks FOR VALUES FROM (%L) TO (%L)',
                                           name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
                        END IF;
                    END $$;

                    -- Drops the day partitions that end before `cutoff` (retention); returns how many.
                    CREATE FUNCTION akis_drop_tick_partitions_before(cutoff date) RETURNS int LANGUAGE plpgsql AS $$
                    DECLARE
                        part record;
                        dropped int := 0;
                    BEGIN
                        FOR part IN
                            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                            WHERE i.inhparent = 'market_ticks'::regclass AND c.relname ~ '^market_ticks_p[0-9]{8}$'
                              AND to_date(substr(c.relname, 15), 'YYYYMMDD') < cutoff
                        LOOP
                            EXECUTE format('DROP TABLE %I', part.relname);
                            dropped := dropped + 1;
                        END LOOP;
                        RETURN dropped;
                    END $$;
                    """
            }
            return table + """

                -- The one index: history queries are per symbol and time range. Every index costs
                -- ingest speed (docs/storage.md), so there is no other.
                CREATE INDEX market_ticks_symbol_time ON market_ticks (symbol, time);
                COMMENT ON COLUMN market_ticks.price IS 'trade price (or last price of a quote) in units of 10^-6 TRY';
                COMMENT ON COLUMN market_ticks.bid IS 'best bid in units of 10^-6 TRY; NULL when the feed sent none';
                COMMENT ON COLUMN market_ticks.ask IS 'best ask in units of 10^-6 TRY; NULL when the feed sent none';
                COMMENT ON COLUMN market_ticks.kind IS '1 trade, 2 quote';
                COMMENT ON COLUMN market_ticks.side IS '0 unknown, 1 buy, 2 sell (aggressor)';

                -- Per feed: the highest sequence number stored, committed with each batch.
                CREATE TABLE ingest_checkpoints (
                    feed smallint PRIMARY KEY,
                    highest_seq bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                -- Per writer: the last batch committed, so that a retry after an unknown outcome
                -- (connection lost during COMMIT) never stores a batch twice.
                CREATE TABLE ingest_writers (
                    writer text PRIMARY KEY,
                    last_batch bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                """
        }),
    ]
}
