/// Parses "90", "90s", "5m", "1h", "250ms" into seconds.
func parseDuration(_ text: String) -> Double? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let v = Double(text.dropLast(suffix.count)), v.isFinite, v > 0 else { return nil }
        return v * scale
    }
    guard let v = Double(text), v.isFinite, v > 0 else { return nil }
    return v
}
