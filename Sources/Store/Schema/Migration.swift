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
    /// The module the market data's schema (`all`) is recorded under.
    public static let marketModule = "market"

    /// Every migration, in order. Append only: a released migration never changes what it leaves
    /// behind. (Migrations 1, 2 and 4 once gave TimescaleDB hypertables their default time index,
    /// and 2 continuous aggregates; they no longer do, and migration 5 brings databases made with
    /// the old text to the same schema.)
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
                    SELECT create_hypertable('market_ticks', 'time', chunk_time_interval => INTERVAL '1 day', create_default_indexes => false);
                    """
            case .plain:
                table = """
                    CREATE TABLE market_ticks (\(columns)) PARTITION BY RANGE (time);
                    -- Rows whose day has no partition yet land here; the writer creates each day's
                    -- partition before it writes that day, so this stays empty in normal operation.
                    CREATE TABLE market_ticks_default PARTITION OF market_ticks DEFAULT;


                    """ + dayPartitionFunctions(table: "market_ticks", ensure: "akis_ensure_tick_partition",
                                                drop: "akis_drop_tick_partitions_before")
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
        Migration(version: 2, name: "market_candles", sql: { layout in
            let table = """
                -- One row per symbol and UTC minute that had a trade (filled by the aggregator).
                CREATE TABLE market_candles (
                    symbol text NOT NULL CONSTRAINT market_candles_symbol_format
                        CHECK (symbol ~ '^[A-Z][A-Z0-9]{0,7}(\\.[A-Z0-9]{1,3})?$'),
                    bucket timestamptz NOT NULL CONSTRAINT market_candles_minute
                        CHECK (date_trunc('minute', bucket) = bucket),
                    open bigint NOT NULL,
                    high bigint NOT NULL,
                    low bigint NOT NULL,
                    close bigint NOT NULL,
                    volume bigint NOT NULL CONSTRAINT market_candles_volume CHECK (volume > 0),
                    trade_count integer NOT NULL CONSTRAINT market_candles_trade_count CHECK (trade_count > 0),
                    turnover numeric NOT NULL,
                    vwap bigint NOT NULL,
                    first_seq bigint NOT NULL,
                    last_seq bigint NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (symbol, bucket),
                    CONSTRAINT market_candles_range CHECK (0 <= low AND low <= open AND low <= close AND open <= high AND close <= high)
                );
                COMMENT ON TABLE market_candles IS '1-minute OHLCV per symbol; bucket is the minute''s start (UTC)';
                COMMENT ON COLUMN market_candles.turnover IS 'sum of price * volume, in units of 10^-6 TRY (exact)';
                COMMENT ON COLUMN market_candles.vwap IS 'turnover / volume rounded half away from zero, in units of 10^-6 TRY';

                """
            // The longer candles (views over the minutes) come with migration 5.
            let hypertable = layout == .plain ? "" : """
                SELECT create_hypertable('market_candles', 'bucket', chunk_time_interval => INTERVAL '1 day', create_default_indexes => false);
                ALTER TABLE market_ticks SET (timescaledb.compress, timescaledb.compress_segmentby = 'symbol', timescaledb.compress_orderby = 'time');
                ALTER TABLE market_candles SET (timescaledb.compress, timescaledb.compress_segmentby = 'symbol', timescaledb.compress_orderby = 'bucket');

                """
            return table + hypertable
        }),
        Migration(version: 3, name: "candle session phases, candle rebuild from stored trades", sql: { _ in
            """
            ALTER TABLE market_candles ADD COLUMN session_phase text CONSTRAINT market_candles_session_phase
                CHECK (session_phase IN ('opening_auction', 'continuous', 'closing_auction', 'closed'));
            COMMENT ON COLUMN market_candles.session_phase IS 'BIST session phase at the minute''s start (Europe/Istanbul calendar)';

            -- The latest exchange time among the ticks a writer stored: after a crash, candles from
            -- a little before it are rebuilt from the stored trades.
            ALTER TABLE ingest_writers ADD COLUMN max_exchange_time timestamptz;

            -- Rebuilds the given 1-minute candles from the stored trades of their minute: open and
            -- close are the first and last trade by sequence (then time), the rest are sums and
            -- extremes, VWAP rounded half away from zero. A minute without stored trades loses its
            -- candle. This is the definition every stored candle must match. Returns the candles written.
            CREATE FUNCTION akis_rebuild_candles(symbols text[], buckets timestamptz[], phases text[]) RETURNS integer
            LANGUAGE plpgsql AS $$
            DECLARE
                written integer;
            BEGIN
                DELETE FROM market_candles c USING unnest(symbols, buckets) AS k(symbol, bucket)
                WHERE c.symbol = k.symbol AND c.bucket = k.bucket
                  AND NOT EXISTS (SELECT 1 FROM market_ticks t WHERE t.symbol = k.symbol AND t.kind = 1
                                  AND t.time >= k.bucket AND t.time < k.bucket + INTERVAL '1 minute');
                INSERT INTO market_candles AS c (symbol, bucket, open, high, low, close, volume, trade_count, turnover, vwap,
                                                 first_seq, last_seq, session_phase)
                -- First and last by (seq, time) in one pass: the least and greatest of
                -- [seq, time in µs, price], compared element by element (no sort).
                SELECT k.symbol, k.bucket,
                       (min(ARRAY[t.seq, (extract(epoch FROM t.time) * 1000000)::bigint, t.price]))[3], max(t.price), min(t.price),
                       (max(ARRAY[t.seq, (extract(epoch FROM t.time) * 1000000)::bigint, t.price]))[3],
                       sum(t.volume), count(*), sum(t.price::numeric * t.volume),
                       coalesce(round(sum(t.price::numeric * t.volume) / nullif(sum(t.volume), 0)),
                                (max(ARRAY[t.seq, (extract(epoch FROM t.time) * 1000000)::bigint, t.price]))[3]),
                       min(t.seq), max(t.seq), k.phase
                FROM (SELECT DISTINCT ON (symbol, bucket) * FROM unnest(symbols, buckets, phases) AS u(symbol, bucket, phase)) k
                JOIN market_ticks t ON t.symbol = k.symbol AND t.kind = 1
                                   AND t.time >= k.bucket AND t.time < k.bucket + INTERVAL '1 minute'
                GROUP BY k.symbol, k.bucket, k.phase
                ON CONFLICT (symbol, bucket) DO UPDATE SET
                    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
                    volume = excluded.volume, trade_count = excluded.trade_count, turnover = excluded.turnover,
                    vwap = excluded.vwap, first_seq = excluded.first_seq, last_seq = excluded.last_seq,
                    session_phase = excluded.session_phase, updated_at = now();
                GET DIAGNOSTICS written = ROW_COUNT;
                RETURN written;
            END $$;
            """
        }),
        Migration(version: 4, name: "order_book_snapshots", sql: { layout in
            let table = """
                -- Top of book and day totals per symbol, sampled by the aggregator every snapshot
                -- interval of market time (only symbols that changed).
                CREATE TABLE order_book_snapshots (
                    time timestamptz NOT NULL,
                    symbol text NOT NULL CONSTRAINT order_book_snapshots_symbol_format
                        CHECK (symbol ~ '^[A-Z][A-Z0-9]{0,7}(\\.[A-Z0-9]{1,3})?$'),
                    bid bigint CONSTRAINT order_book_snapshots_bid CHECK (bid > 0),
                    ask bigint CONSTRAINT order_book_snapshots_ask CHECK (ask > 0),
                    last_price bigint CONSTRAINT order_book_snapshots_last_price CHECK (last_price > 0),
                    volume bigint NOT NULL CONSTRAINT order_book_snapshots_volume CHECK (volume >= 0),
                    trade_count bigint NOT NULL CONSTRAINT order_book_snapshots_trade_count CHECK (trade_count >= 0),
                    PRIMARY KEY (symbol, time)
                )
                """
            let comments = """
                COMMENT ON TABLE order_book_snapshots IS 'top of book per symbol at each snapshot interval of market time; prices in 10^-6 TRY, NULL when absent; volume and trade_count for the trading day so far';

                """
            switch layout {
            case .timescale:
                return table + ";\n" + comments + """
                    SELECT create_hypertable('order_book_snapshots', 'time', chunk_time_interval => INTERVAL '1 day', create_default_indexes => false);
                    ALTER TABLE order_book_snapshots SET (timescaledb.compress, timescaledb.compress_segmentby = 'symbol', timescaledb.compress_orderby = 'time');
                    """
            case .plain:
                return table + " PARTITION BY RANGE (time);\n" + comments + """
                    CREATE TABLE order_book_snapshots_default PARTITION OF order_book_snapshots DEFAULT;


                    """ + dayPartitionFunctions(table: "order_book_snapshots", ensure: "akis_ensure_snapshot_partition",
                                                drop: "akis_drop_snapshot_partitions_before")
            }
        }),
        Migration(version: 5, name: "one index per table on TimescaleDB, 5m/1h/1d candles computed when read", sql: { layout in
            // TimescaleDB added a time index to each hypertable (create_hypertable's default),
            // against the one-index design: ~30% slower COPY. Its continuous aggregates lost
            // history (minutes written outside their refresh window never appeared) and outlived
            // retention. The longer candles are now plain views on both layouts, the same
            // aggregation the history API runs over the minutes it reads.
            let drops = switch layout {
            case .timescale: """
                DROP INDEX IF EXISTS market_ticks_time_idx;
                DROP INDEX IF EXISTS market_candles_bucket_idx;
                DROP INDEX IF EXISTS order_book_snapshots_time_idx;
                DO $$
                DECLARE
                    v text;
                BEGIN
                    FOREACH v IN ARRAY ARRAY['market_candles_5m', 'market_candles_1h', 'market_candles_1d'] LOOP
                        IF EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                                   WHERE view_schema = current_schema() AND view_name = v) THEN
                            EXECUTE format('DROP MATERIALIZED VIEW %I', v);  -- and its refresh policy
                        ELSE
                            EXECUTE format('DROP VIEW IF EXISTS %I', v);
                        END IF;
                    END LOOP;
                END $$;

                """
            case .plain: "DROP VIEW IF EXISTS market_candles_5m, market_candles_1h, market_candles_1d;\n"
            }
            return drops + [("5m", CandleInterval.fiveMinutes), ("1h", .oneHour), ("1d", .oneDay)].map { name, interval in
                """
                CREATE VIEW market_candles_\(name) AS
                SELECT c.symbol, \(interval.bucketSQL) AS bucket, \(CandleInterval.aggregateColumnsSQL)
                FROM market_candles c
                GROUP BY 1, 2;

                """
            }.joined()
        }),
        Migration(version: 6, name: "order book depth in the snapshots", sql: { _ in
            // One column per statement: TimescaleDB adds columns to a compressed hypertable one at a time.
            """
            ALTER TABLE order_book_snapshots ADD COLUMN depth_time timestamptz;
            ALTER TABLE order_book_snapshots ADD COLUMN bid_prices bigint[];
            ALTER TABLE order_book_snapshots ADD COLUMN bid_sizes bigint[];
            ALTER TABLE order_book_snapshots ADD COLUMN ask_prices bigint[];
            ALTER TABLE order_book_snapshots ADD COLUMN ask_sizes bigint[];
            COMMENT ON COLUMN order_book_snapshots.depth_time IS 'exchange time of the depth in this row: the last an exchange feed published at or before time; NULL without one';
            COMMENT ON COLUMN order_book_snapshots.bid_prices IS 'best bid levels, best first, in units of 10^-6 TRY (exchange feeds)';
            COMMENT ON COLUMN order_book_snapshots.bid_sizes IS 'shares resting at each of bid_prices';
            COMMENT ON COLUMN order_book_snapshots.ask_prices IS 'best ask levels, best first, in units of 10^-6 TRY (exchange feeds)';
            COMMENT ON COLUMN order_book_snapshots.ask_sizes IS 'shares resting at each of ask_prices';

            """
        }),
        Migration(version: 7, name: "exchange_instruments", sql: { _ in
            """
            CREATE TABLE exchange_instruments (
                feed text NOT NULL,
                order_book bigint NOT NULL,
                symbol text NOT NULL,
                isin text NOT NULL,
                price_decimals integer NOT NULL,
                round_lot bigint NOT NULL,
                tick_sizes bigint[] NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (feed, order_book)
            );
            COMMENT ON TABLE exchange_instruments IS 'instruments as an exchange feed''s directory announced them (BIST ITCH R and L); [market] symbols_from_exchange takes them into the universe at start';
            COMMENT ON COLUMN exchange_instruments.tick_sizes IS '(tick size, price from, price to) triples, flattened, in the feed''s integer prices with price_decimals';

            """
        }),
    ]

    /// The plain layout's day partitions of a table partitioned by time: a function that creates
    /// one UTC day's partition (idempotent), named TABLE_pYYYYMMDD, and one that drops the day
    /// partitions ending before a cutoff (retention) and returns how many.
    static func dayPartitionFunctions(table: String, ensure: String, drop: String) -> String {
        """
        -- Creates the partition for one UTC day (idempotent). Named \(table)_pYYYYMMDD.
        CREATE FUNCTION \(ensure)(day date) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            name text := '\(table)_p' || to_char(day, 'YYYYMMDD');
        BEGIN
            IF to_regclass(name) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF \(table) FOR VALUES FROM (%L) TO (%L)',
                               name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            END IF;
        END $$;

        -- Drops the day partitions that end before `cutoff` (retention); returns how many.
        CREATE FUNCTION \(drop)(cutoff date) RETURNS int LANGUAGE plpgsql AS $$
        DECLARE
            part record;
            dropped int := 0;
        BEGIN
            FOR part IN
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = '\(table)'::regclass AND c.relname ~ '^\(table)_p[0-9]{8}$'
                  AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
            LOOP
                EXECUTE format('DROP TABLE %I', part.relname);
                dropped := dropped + 1;
            END LOOP;
            RETURN dropped;
        END $$;

        """
    }
}
