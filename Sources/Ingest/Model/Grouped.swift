/// `n` with thousands separators, as reports print counts: "1,234,567".
public func grouped(_ n: UInt64) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}
