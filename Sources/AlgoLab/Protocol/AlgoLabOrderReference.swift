/// AlgoLab's order id, as its replies carry it in Turkish text: `"Referans Numaranız:
/// 001VEV;0000-2923NR-IET - HISSEOK"` → `001VEV` (between ": " and the first ";").
public enum AlgoLabOrderReference {
    public static let marker = "Referans Numaranız:"

    public static func parse(_ text: String) -> String? {
        guard let range = text.range(of: marker) else { return nil }
        let rest = text[range.upperBound...].drop { $0 == " " }
        let id = rest.prefix { $0 != ";" && $0 != " " }
        guard !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        return String(id)
    }
}
