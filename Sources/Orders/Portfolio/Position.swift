import Ingest

/// One symbol's holding in an account: shares, what they cost (fills' values plus their cost
/// lines, in kuruş), and the P&L realised by selling. Sells need free shares, so it never goes short.
///
/// Selling takes its share of the cost basis, `basis × sold / shares`, rounded half up to the
/// kuruş; the last share sold takes what is left, so the basis never drifts from the fills.
public struct Position: Hashable, Sendable {
    public private(set) var shares: Int64 = 0
    public private(set) var costBasis: Money = .zero
    public private(set) var realised: Money = .zero

    public init() {}

    public init(shares: Int64, costBasis: Money, realised: Money) {
        self.shares = shares
        self.costBasis = costBasis
        self.realised = realised
    }

    /// A buy fill: `value` is price × shares, `costs` its cost lines.
    public mutating func buy(_ quantity: Int64, value: Money, costs: Money) {
        shares += quantity
        costBasis += value + costs
    }

    /// A sell fill; returns the P&L it realised (proceeds less costs less the basis it takes).
    /// Nil, and no change, when the position holds fewer shares.
    @discardableResult
    public mutating func sell(_ quantity: Int64, value: Money, costs: Money) -> Money? {
        guard quantity > 0, quantity <= shares else { return nil }
        let taken = quantity == shares ? costBasis
            : Money(kurus: Int64(ScaledDecimal.divideRoundingHalfAwayFromZero(Int128(costBasis.kurus) * Int128(quantity), by: Int128(shares))))
        let pnl = value - costs - taken
        shares -= quantity
        costBasis -= taken
        realised += pnl
        return pnl
    }

    /// The average cost per share (basis ÷ shares, to six decimals, half up); nil when flat.
    public var averageCost: Price? { costBasis.perShare(shares) }

    /// What the shares would realise at `price` before costs, less their basis.
    public func unrealised(at price: Price) -> Money? {
        guard let value = Money.value(of: shares, at: price) else { return nil }
        return value - costBasis
    }
}
