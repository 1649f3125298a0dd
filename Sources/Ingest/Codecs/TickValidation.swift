/// Rules every decoded tick must satisfy, whatever its wire format.
public enum TickValidation {
    /// Returns why `tick` is unacceptable, or `nil` when it is fine.
    ///
    /// - trades need a positive price and a positive quantity;
    /// - quotes need a positive bid or ask (or both); their price, if any, must be positive;
    /// - no price or quantity may be negative; exchange time must be after 1970.
    public static func check(_ tick: Tick) -> FrameError? {
        if tick.bid.units < 0 { return .nonPositivePrice(field: "bidPrice", value: tick.bid.description) }
        if tick.ask.units < 0 { return .nonPositivePrice(field: "askPrice", value: tick.ask.description) }
        if tick.quantity < 0 { return .badQuantity("negative volume \(tick.quantity)") }
        if tick.exchangeTime <= 0 { return .badTimestamp("exchange time \(tick.exchangeTime) ns is not after 1970") }
        switch tick.kind {
        case .trade:
            if tick.price.units <= 0 { return .nonPositivePrice(field: "price", value: tick.price.description) }
            if tick.quantity == 0 { return .badQuantity("a trade needs a positive volume") }
        case .quote:
            if tick.price.units < 0 { return .nonPositivePrice(field: "price", value: tick.price.description) }
            if tick.bid.units == 0 && tick.ask.units == 0 {
                return .nonPositivePrice(field: "bidPrice/askPrice", value: "none (a quote needs a bid or an ask)")
            }
        }
        return nil
    }
}
