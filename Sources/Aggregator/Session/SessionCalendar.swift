import Ingest

/// The BIST equity market's calendar in Istanbul time: the phases of a trading day, half days,
/// and holidays, all as data (configurable under `[calendar]`, see docs/configuration.md).
///
/// Istanbul has been on UTC+03:00 all year since September 2016; the calendar uses that offset
/// for every date (earlier dates are an hour off in winter).
public struct SessionCalendar: Sendable, Equatable {
    /// One phase's start, in minutes after Istanbul midnight.
    public struct PhaseStart: Sendable, Equatable {
        public var minute: Int
        public var phase: SessionPhase
        public init(minute: Int, phase: SessionPhase) {
            self.minute = minute
            self.phase = phase
        }
    }

    public static let utcOffsetNanos: Int64 = 3 * 3600 * UTCTime.nanosPerSecond
    static let dayNanos = UTCTime.nanosPerDay
    /// The last year the built-in holiday list covers.
    public static let builtInHolidaysThrough = BISTHolidays.lastYear

    /// A full trading day, ordered by start; before the first start the market is closed.
    public var regularDay: [PhaseStart]
    /// A half day (the eve of a religious holiday, 28 October).
    public var halfDay: [PhaseStart]
    /// Weekdays without trading, as days since 1970-01-01 (Istanbul dates).
    public var holidays: Set<Int>
    /// Weekdays with the `halfDay` schedule.
    public var halfDays: Set<Int>

    /// BIST's equity schedule: opening session 09:40-10:00, continuous 10:00-18:00, closing
    /// session 18:00-18:10; half days close the continuous session at 12:30.
    public static let bistRegularDay = [PhaseStart(minute: 9 * 60 + 40, phase: .openingAuction), PhaseStart(minute: 10 * 60, phase: .continuous),
                                        PhaseStart(minute: 18 * 60, phase: .closingAuction), PhaseStart(minute: 18 * 60 + 10, phase: .closed)]
    public static let bistHalfDay = [PhaseStart(minute: 9 * 60 + 40, phase: .openingAuction), PhaseStart(minute: 10 * 60, phase: .continuous),
                                     PhaseStart(minute: 12 * 60 + 30, phase: .closingAuction), PhaseStart(minute: 12 * 60 + 40, phase: .closed)]

    /// The default calendar: BIST's schedule with `BISTHolidays` for the years it covers.
    public init() {
        self.init(regularDay: Self.bistRegularDay, halfDay: Self.bistHalfDay,
                  holidays: Set(BISTHolidays.holidays.map(Self.day)), halfDays: Set(BISTHolidays.halfDays.map(Self.day)))
    }

    public init(regularDay: [PhaseStart], halfDay: [PhaseStart], holidays: Set<Int>, halfDays: Set<Int>) {
        self.regularDay = regularDay
        self.halfDay = halfDay
        self.holidays = holidays
        self.halfDays = halfDays
    }

    static func day(_ date: (Int, Int, Int)) -> Int { UTCTime.daysFromCivil(year: date.0, month: date.1, day: date.2) }

    /// The Istanbul date of an instant, as days since 1970-01-01.
    public static func istanbulDay(of nanos: Int64) -> Int {
        Int(UTCTime.floor(nanos + utcOffsetNanos, toMultipleOf: dayNanos) / dayNanos)
    }

    /// Whether the market opens on this day at all (a weekday that is not a holiday).
    public func isTradingDay(_ day: Int) -> Bool {
        let weekday = ((day + 3) % 7 + 7) % 7  // 1970-01-01 was a Thursday; 0 = Monday
        return weekday < 5 && !holidays.contains(day)
    }

    /// The schedule of a trading day.
    public func schedule(_ day: Int) -> [PhaseStart] { halfDays.contains(day) ? halfDay : regularDay }

    /// The phase at an instant.
    public func phase(at nanos: Int64) -> SessionPhase {
        let day = Self.istanbulDay(of: nanos)
        guard isTradingDay(day) else { return .closed }
        let minute = Int((nanos + Self.utcOffsetNanos - Int64(day) * Self.dayNanos) / (60 * UTCTime.nanosPerSecond))
        return schedule(day).last { $0.minute <= minute }?.phase ?? .closed
    }

    /// When a trading day's first session starts (UTC nanoseconds).
    public func sessionStart(_ day: Int) -> Int64 {
        Int64(day) * Self.dayNanos - Self.utcOffsetNanos + Int64(schedule(day).first?.minute ?? 0) * 60 * UTCTime.nanosPerSecond
    }

    /// The trading day an instant counts toward: daily statistics reset when a session starts, so
    /// a trade after the close (or on a holiday) still belongs to the last trading day.
    /// `nil` when no trading day is found in the 30 days before.
    public func tradingDay(containing nanos: Int64) -> TradingDay? {
        var day = Self.istanbulDay(of: nanos)
        for _ in 0..<31 {
            if isTradingDay(day) && sessionStart(day) <= nanos {
                var next = day + 1
                while !isTradingDay(next) && next - day < 31 { next += 1 }
                return TradingDay(day: day, start: sessionStart(day), nextStart: sessionStart(next))
            }
            day -= 1
        }
        return nil
    }
}

/// A trading day and the instants it spans: from its session start to the next day's.
public struct TradingDay: Sendable, Equatable {
    /// Days since 1970-01-01 (the Istanbul date).
    public var day: Int
    public var start: Int64
    public var nextStart: Int64

    public func contains(_ nanos: Int64) -> Bool { start <= nanos && nanos < nextStart }

    /// "YYYY-MM-DD".
    public var date: String { UTCTime.formatDate(day) }
}
