import Foundation
import Ingest

/// One of the day's orders as `TodaysTransaction` lists it. AlgoLab does not document the
/// fields; these are the ones its replies carry (`atpref`, `ticker`, …), read leniently (text or
/// number), and every field is kept verbatim in `fields` for display.
public struct AlgoLabTransaction: Sendable, Equatable, Decodable {
    /// The order id (`atpref`), as SendOrder's reply gave it.
    public var reference: String
    public var symbol: String
    /// `buysell`: AlgoLab's Turkish word ("Alış", "Satış").
    public var side: String
    public var shares: Int64?
    public var remainingShares: Int64?
    public var filledShares: Int64?
    public var price: Price?
    /// `description`: the state in AlgoLab's words ("Gerçekleşti", "İptal", …).
    public var state: String
    public var fields: [String: String]

    public init(from decoder: any Decoder) throws {
        let all = try [String: LenientText].init(from: decoder).mapValues(\.text)
        fields = all
        guard let reference = all["atpref"], !reference.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a transaction without atpref"))
        }
        self.reference = reference
        symbol = all["ticker"] ?? ""
        side = all["buysell"] ?? ""
        shares = all["ordersize"].flatMap(wholeShares)
        remainingShares = all["remainingsize"].flatMap(wholeShares)
        filledShares = all["fillunit"].flatMap(wholeShares)
        price = all["price"].flatMap { Price($0) }
        state = all["description"] ?? ""
    }
}

/// One holding as `InstantPosition` lists it (`code`, `totalstock`, …; undocumented, read
/// leniently, kept verbatim in `fields`).
public struct AlgoLabPosition: Sendable, Equatable, Decodable {
    public var symbol: String
    public var shares: Int64?
    public var fields: [String: String]

    public init(from decoder: any Decoder) throws {
        let all = try [String: LenientText].init(from: decoder).mapValues(\.text)
        fields = all
        symbol = all["code"] ?? ""
        shares = all["totalstock"].flatMap(wholeShares)
    }
}

/// `GetEquityInfo`: the day's limits and last price of a symbol.
public struct AlgoLabEquityInfo: Sendable, Equatable, Decodable {
    /// `flr` and `clg`: the day's lowest and highest allowed prices; `lst`: the last price.
    public var floor: Price?
    public var ceiling: Price?
    public var last: Price?
    public var fields: [String: String]

    public init(from decoder: any Decoder) throws {
        let all = try [String: LenientText].init(from: decoder).mapValues(\.text)
        fields = all
        floor = all["flr"].flatMap { Price($0) }
        ceiling = all["clg"].flatMap { Price($0) }
        last = all["lst"].flatMap { Price($0) }
    }
}

/// A number of shares written as a decimal ("100", "100.0"), exactly; nil when it is not whole.
func wholeShares(_ text: String) -> Int64? {
    Price(text).flatMap { $0.units % Price.unitsPerLira == 0 ? $0.units / Price.unitsPerLira : nil }
}

/// A JSON value as text: strings as they are, numbers exactly as written (through `Decimal`,
/// never a Double), booleans, and null as "".
struct LenientText: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { text = "" }
        else if let s = try? c.decode(String.self) { text = s }
        else if let b = try? c.decode(Bool.self) { text = b ? "true" : "false" }
        else if let d = try? c.decode(Decimal.self) { text = "\(d)" }
        else { text = "" }
    }
}
