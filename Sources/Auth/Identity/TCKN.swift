/// The Turkish national identity number (T.C. Kimlik No): eleven digits, the first not 0, the
/// tenth and eleventh check digits of the first nine and ten.
public enum TCKN {
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        /// Not eleven digits, or a leading 0.
        case format
        /// Eleven digits whose check digits do not match.
        case checksum

        public var description: String {
            switch self {
            case .format: "a TCKN is 11 digits and does not start with 0"
            case .checksum: "the TCKN's check digits do not match"
            }
        }
    }

    /// Nil when `text` is a valid TCKN, else what is wrong with it.
    public static func problem(_ text: String) -> Problem? {
        let digits = text.utf8.map { Int($0) - 48 }
        guard digits.count == 11, digits.allSatisfy({ (0...9).contains($0) }), digits[0] != 0 else { return .format }
        let odd = digits[0] + digits[2] + digits[4] + digits[6] + digits[8]
        let even = digits[1] + digits[3] + digits[5] + digits[7]
        let tenth = ((odd * 7 - even) % 10 + 10) % 10
        let eleventh = digits[0..<10].reduce(0, +) % 10
        return digits[9] == tenth && digits[10] == eleventh ? nil : .checksum
    }
}
