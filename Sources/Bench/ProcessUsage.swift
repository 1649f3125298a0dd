import Foundation

/// CPU time per thread and memory of a process, read from /proc (Linux).
public struct ProcessUsage: Sendable {
    /// CPU seconds (user + system) per thread, keyed "name/tid".
    public var threadSeconds: [String: Double]
    /// Resident set size now and at its peak (VmRSS, VmHWM), bytes.
    public var residentBytes: UInt64
    public var peakResidentBytes: UInt64

    /// Reads process `pid` (`nil`: this process). Returns `nil` if it is gone.
    public static func read(pid: Int32?) -> ProcessUsage? {
        let root = pid.map { "/proc/\($0)" } ?? "/proc/self"
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "\(root)/task") else { return nil }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        var threads: [String: Double] = [:]
        for tid in tasks {
            guard let stat = try? String(contentsOfFile: "\(root)/task/\(tid)/stat", encoding: .utf8),
                  let name = try? String(contentsOfFile: "\(root)/task/\(tid)/comm", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { continue }
            threads["\(name.trimmingCharacters(in: .whitespacesAndNewlines))/\(tid)"] = (user + system) / hz
        }
        var rss: UInt64 = 0, hwm: UInt64 = 0
        if let status = try? String(contentsOfFile: "\(root)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") {
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard parts.count >= 2, let kib = UInt64(parts[1]) else { continue }
                if parts[0] == "VmRSS:" { rss = kib * 1024 }
                if parts[0] == "VmHWM:" { hwm = kib * 1024 }
            }
        }
        return ProcessUsage(threadSeconds: threads, residentBytes: rss, peakResidentBytes: hwm)
    }

    /// CPU used per thread between `earlier` and `self`, as a share of one core over `seconds`,
    /// grouped by thread name (NIO's numbered event loops stay apart), busiest first.
    public func cpuShare(since earlier: ProcessUsage, over seconds: Double) -> [ThreadCPU] {
        var byName: [String: Double] = [:]
        for (key, now) in threadSeconds {
            let used = now - (earlier.threadSeconds[key] ?? 0)
            let name = String(key[..<(key.lastIndex(of: "/") ?? key.endIndex)])
            byName[name, default: 0] += used
        }
        return byName.map { ThreadCPU(thread: $0.key, percentOfCore: seconds > 0 ? $0.value / seconds * 100 : 0) }
            .sorted { $0.percentOfCore > $1.percentOfCore }
    }
}

/// One thread's (or same-named threads') CPU use.
public struct ThreadCPU: Sendable, Codable, Equatable {
    public var thread: String
    public var percentOfCore: Double
}
