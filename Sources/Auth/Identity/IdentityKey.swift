import Foundation

/// The form emails and usernames are compared in, so that no two accounts differ only in case.
/// Turkish makes this more than `lowercased()`: its dotted İ/i and dotless I/ı are two letter
/// pairs, and which one "I" belongs to depends on the reader's language. The key merges all four
/// into "i", so that neither a Turkish nor an English reader can be shown a look-alike of an
/// existing name ("ISIL", "ısıl" and "İsil" are one name); every other letter is compared
/// lowercased, after canonical composition (a precomposed "ş" and "s" plus a cedilla are one).
public enum IdentityKey {
    public static func of(_ text: String) -> String {
        var folded = ""
        folded.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            switch scalar {
            case "I", "İ", "ı": folded.unicodeScalars.append("i")
            default: folded.unicodeScalars.append(scalar)
            }
        }
        return folded.lowercased().precomposedStringWithCanonicalMapping
    }
}
