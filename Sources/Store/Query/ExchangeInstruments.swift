import Ingest
import Logging
import PostgresNIO

/// The `exchange_instruments` table: the instruments exchange feeds' directories announced (BIST
/// ITCH `R`, with the `L` tick size table), kept so that a later start can take their symbols
/// into the universe (`[market] symbols_from_exchange`) and so that orders can be checked against
/// the exchange's own price steps (`tickSizes(of:on:logger:)`).
public enum ExchangeInstruments {
    private static let upsertSQL = """
        INSERT INTO exchange_instruments (feed, order_book, symbol, isin, price_decimals, round_lot, tick_sizes)
        SELECT f, b, s, i, d, l, t::bigint[]
        FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::bigint[], $7::text[]) AS x(f, b, s, i, d, l, t)
        ON CONFLICT (feed, order_book) DO UPDATE SET symbol = excluded.symbol, isin = excluded.isin, price_decimals = excluded.price_decimals,
            round_lot = excluded.round_lot, tick_sizes = excluded.tick_sizes, updated_at = now()
        """

    /// Stores the instruments in one statement (the latest entry wins for a feed and order book).
    public static func store(_ instruments: [ExchangeInstrument], on client: PostgresClient, logger: Logger) async throws {
        guard !instruments.isEmpty else { return }
        var binds = PostgresBindings()
        binds.append(instruments.map(\.feed))
        binds.append(instruments.map { Int64($0.orderBook) })
        binds.append(instruments.map(\.symbol))
        binds.append(instruments.map(\.isin))
        binds.append(instruments.map { Int32($0.priceDecimals) })
        binds.append(instruments.map { Int64($0.roundLot) })
        binds.append(instruments.map { i in
            "{" + i.tickSizes.flatMap { [Int64(truncatingIfNeeded: $0.tickSize), Int64($0.from), Int64($0.to)] }.map(String.init).joined(separator: ",") + "}"
        })
        try await client.query(PostgresQuery(unsafeSQL: upsertSQL, binds: binds), logger: logger)
    }

    /// The exchange's price steps for `symbol`, as its latest directory entry (over every feed)
    /// announced them; nil when none is stored or the stored table is not one `TickSizeTable`
    /// can hold. Where it is nil, BIST's published table (`TickSizeTable.bistEquity`) applies.
    public static func tickSizes(of symbol: String, on client: PostgresClient, logger: Logger) async throws -> TickSizeTable? {
        let rows = try await client.query("""
            SELECT price_decimals, tick_sizes FROM exchange_instruments WHERE symbol = \(symbol) AND cardinality(tick_sizes) > 0
            ORDER BY updated_at DESC LIMIT 1
            """, logger: logger)
        for try await (decimals, flat) in rows.decode((Int32, [Int64]).self) {
            guard flat.count % 3 == 0, let decimals = UInt16(exactly: decimals) else { return nil }
            var bands: [BISTOrderBooks.TickSizeBand] = []
            for i in stride(from: 0, to: flat.count, by: 3) {
                guard let size = UInt64(exactly: flat[i]), let from = UInt32(exactly: flat[i + 1]), let to = UInt32(exactly: flat[i + 2]) else { return nil }
                bands.append(.init(tickSize: size, from: from, to: to))
            }
            return TickSizeTable(exchange: bands, priceDecimals: decimals)
        }
        return nil
    }

    /// The symbols stored, over every feed, in order.
    public static func symbols(on db: LibpqConnection) throws -> [String] {
        try db.execute("SELECT DISTINCT symbol FROM exchange_instruments ORDER BY 1").rows.compactMap { $0[0] ?? nil }
    }
}
