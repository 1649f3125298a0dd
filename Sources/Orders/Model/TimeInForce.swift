/// How long an order works (BIST's Turkish names in the comments).
public enum TimeInForce: String, Sendable, CaseIterable, Codable {
    /// Günlük: works until the session's end (the calendar says when), then expires. The default.
    case day = "DAY"
    /// Kalanı İptal Et (KİE): fills what it can at once and cancels the rest.
    case ioc = "IOC"
    /// Gerçekleşmezse İptal Et (GİE): fills in whole at once or not at all.
    case fok = "FOK"
}
