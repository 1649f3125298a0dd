/// A compact id for an interned symbol; index into its `SymbolTable`.
public struct SymbolID: Hashable, Sendable, BitwiseCopyable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: SymbolID, b: SymbolID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "#\(rawValue)" }
}

/// Why a symbol was refused.
public enum SymbolError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidFormat(String)
    case tooManySymbols

    public var description: String {
        switch self {
        case .invalidFormat(let s):
            "invalid symbol \(Sanitized(s)): expected 1-8 upper-case letters or digits starting with a letter, optionally followed by a market suffix such as .E"
        case .tooManySymbols: "symbol table is full"
        }
    }
}

/// The set of instruments a feed may carry, interned to dense ids.
///
/// Built once from configuration, then used read-only by the decoders (it is a value: each thread
/// holds its own copy, no locks). A tick for a symbol not in the table is rejected as an unknown
/// symbol rather than silently growing the universe.
///
/// Format (BIST): a base code of 1-8 characters `A-Z0-9` starting with a letter (AKBNK, THYAO,
/// A1CAP), optionally followed by `.` and a 1-3 character market suffix (`GARAN.E`).
public struct SymbolTable: Sendable {
    public static let maximumLength = 12

    private var ids: [SymbolKey: SymbolID] = [:]
    private var names: [String] = []

    public init() {}

    public init(_ names: some Sequence<String>) throws(SymbolError) {
        for name in names { _ = try intern(name) }
    }

    public var count: Int { names.count }
    public var allNames: [String] { names }

    /// Adds `name` if new and returns its id.
    @discardableResult
    public mutating func intern(_ name: String) throws(SymbolError) -> SymbolID {
        var name = name
        guard let key = name.withUTF8({ SymbolKey(validating: UnsafeRawBufferPointer($0)) }) else {
            throw .invalidFormat(name)
        }
        if let id = ids[key] { return id }
        guard names.count < Int(UInt32.max) else { throw .tooManySymbols }
        let id = SymbolID(UInt32(names.count))
        ids[key] = id
        names.append(name)
        return id
    }

    public func id(for name: String) -> SymbolID? {
        var name = name
        return name.withUTF8 { id(forASCII: UnsafeRawBufferPointer($0)) }
    }

    /// Looks up raw ASCII bytes without allocating. `nil` for an unknown or malformed symbol
    /// (use `SymbolTable.isValid` to tell the two apart).
    @inline(__always)
    public func id(forASCII bytes: UnsafeRawBufferPointer) -> SymbolID? {
        guard let key = SymbolKey(packing: bytes) else { return nil }
        return ids[key]
    }

    public func name(of id: SymbolID) -> String { names[Int(id.rawValue)] }

    public func contains(_ id: SymbolID) -> Bool { Int(id.rawValue) < names.count }

    /// Whether `bytes` is a well-formed symbol (whether or not it is in any table).
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        SymbolKey(validating: bytes) != nil
    }

    /// `isValid` for a name held as a String.
    public static func isValid(_ name: String) -> Bool {
        var copy = name
        return copy.withUTF8 { isValid(UnsafeRawBufferPointer($0)) }
    }
}

/// Up to 16 ASCII bytes packed into two words: a hash key that needs no String.
struct SymbolKey: Hashable {
    var low: UInt64
    var high: UInt64

    /// Packs without checking the format (lookups: an invalid key simply is not found).
    @inline(__always)
    init?(packing bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, bytes.count <= SymbolTable.maximumLength else { return nil }
        var low: UInt64 = 0, high: UInt64 = 0
        for i in 0..<bytes.count {
            if i < 8 { low |= UInt64(bytes[i]) << (8 * UInt64(i)) }
            else { high |= UInt64(bytes[i]) << (8 * UInt64(i - 8)) }
        }
        self.low = low
        self.high = high
    }

    init?(validating bytes: UnsafeRawBufferPointer) {
        func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        guard bytes.count > 0, isUpper(bytes[0]) else { return nil }
        var i = 1
        while i < bytes.count, isUpper(bytes[i]) || isDigit(bytes[i]) { i += 1 }
        guard i <= 8 else { return nil }
        if i < bytes.count {
            guard bytes[i] == UInt8(ascii: "."), bytes.count - i - 1 >= 1, bytes.count - i - 1 <= 3 else { return nil }
            for j in (i + 1)..<bytes.count where !(isUpper(bytes[j]) || isDigit(bytes[j])) { return nil }
        }
        self.init(packing: bytes)
    }
}
