/// Borsa Istanbul's market holidays (weekdays without trading) and half days, 2024-2026: the
/// national holidays and the Ramadan and Sacrifice feasts with their eves. Dates fall on weekends
/// are harmless. Years beyond these need `[calendar] holidays` and `half_days` in the configuration
/// (the daemon warns when the market's date passes the last year here); check each year's list
/// against BIST's announcement, which may add bridge days.
enum BISTHolidays {
    static let lastYear = 2026

    static let holidays: [(Int, Int, Int)] = fixed([2024, 2025, 2026]) + [
        (2024, 4, 10), (2024, 4, 11), (2024, 4, 12),  // Ramazan Bayramı
        (2024, 6, 17), (2024, 6, 18), (2024, 6, 19),  // Kurban Bayramı (16 June is a Sunday)
        (2025, 3, 31), (2025, 4, 1),  // Ramazan Bayramı (30 March is a Sunday)
        (2025, 6, 6), (2025, 6, 9),  // Kurban Bayramı (7-8 June is a weekend)
        (2026, 3, 20),  // Ramazan Bayramı (21-22 March is a weekend)
        (2026, 5, 27), (2026, 5, 28), (2026, 5, 29),  // Kurban Bayramı (30 May is a Saturday)
    ]

    static let halfDays: [(Int, Int, Int)] = [2024, 2025, 2026].map { ($0, 10, 28) } + [
        (2024, 4, 9), (2025, 6, 5), (2026, 3, 19), (2026, 5, 26),  // feast eves on weekdays
    ]

    /// New Year, 23 April, 1 May, 19 May, 15 July, 30 August, 29 October.
    private static func fixed(_ years: [Int]) -> [(Int, Int, Int)] {
        years.flatMap { y in [(y, 1, 1), (y, 4, 23), (y, 5, 1), (y, 5, 19), (y, 7, 15), (y, 8, 30), (y, 10, 29)] }
    }
}
