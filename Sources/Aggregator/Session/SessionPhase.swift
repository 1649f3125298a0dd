/// Where the BIST equity market is in its day. Stored with each candle (`market_candles.session_phase`).
public enum SessionPhase: String, Sendable, CaseIterable, BitwiseCopyable {
    /// Order collection and price determination before the continuous session.
    case openingAuction = "opening_auction"
    /// Continuous trading.
    case continuous
    /// The closing session: closing auction and trading at the closing price.
    case closingAuction = "closing_auction"
    /// Outside the sessions: nights, weekends and holidays.
    case closed
}
