import Foundation
import Ingest

/// The bench's plot as SVG: latency by percentile (one line per client group, or per step of a
/// `--find-max` search), and ticks sent, messages delivered and ticks committed per second.
public enum BenchPlot {
    static let width = 900.0, panelHeight = 340.0, margin = (left: 70.0, right: 20.0, top: 40.0, bottom: 50.0)
    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    public static func svg(_ output: BenchOutput) -> String {
        var curves: [(String, [BenchResult.CurvePoint])] = []
        if output.findMax != nil {
            for (run, step) in zip(output.runs, output.findMax!.steps) {
                curves.append(("\(grouped(UInt64(step.rate))) ticks/s" + (step.failure == nil ? "" : " (not held)"), run.latencyCurve))
            }
        } else if let run = output.runs.first {
            curves = run.groups.map { ("\($0.name), \($0.clients) clients", $0.curve) }
        }
        let height = panelHeight * 2 + 40
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>

            """
        svg += latencyPanel(curves, title: "Tick latency, scheduled → received by the client", top: 0)
        if let command = output.runs.first?.command {
            svg += text(command.count > 150 ? String(command.prefix(147)) + "..." : command, x: width - margin.right, y: 20, anchor: "end", size: 10)
        }
        if let run = output.runs.last { svg += throughputPanel(run, top: panelHeight + 40) }
        return svg + "</svg>\n"
    }

    /// x: percentile on a log scale of 1/(1 − p) up to 99.999; y: milliseconds, log scale.
    private static func latencyPanel(_ curves: [(String, [BenchResult.CurvePoint])], title: String, top: Double) -> String {
        let plot = (x0: margin.left, x1: width - margin.right, y0: top + margin.top, y1: top + panelHeight - margin.bottom)
        let maxDecades = 5.0
        func x(_ percentile: Double) -> Double {
            let decades = min(maxDecades, log10(1 / max(1e-9, 1 - min(percentile, 99.9999) / 100)))
            return plot.x0 + decades / maxDecades * (plot.x1 - plot.x0)
        }
        let all = curves.flatMap { $0.1.map(\.nanos) }.filter { $0 > 0 }
        let lo = log10(Double(all.min() ?? 1_000) / 1e6), hi = log10(Double(all.max() ?? 1_000_000) / 1e6)
        let (yMin, yMax) = (floor(lo), max(floor(lo) + 1, ceil(hi)))
        func y(_ nanos: Int64) -> Double {
            let v = log10(max(Double(nanos) / 1e6, pow(10, yMin)))
            return plot.y1 - (v - yMin) / (yMax - yMin) * (plot.y1 - plot.y0)
        }
        var out = text(title, x: plot.x0, y: top + 36, anchor: "start", weight: "bold")
        for (i, label) in ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"].enumerated() {
            let px = plot.x0 + Double(i) / maxDecades * (plot.x1 - plot.x0)
            out += line(px, plot.y0, px, plot.y1, "#ddd") + text(label, x: px, y: plot.y1 + 16, anchor: "middle")
        }
        var decade = yMin
        while decade <= yMax {
            let py = y(Int64(pow(10, decade) * 1e6))
            out += line(plot.x0, py, plot.x1, py, "#ddd") + text(formatMillis(pow(10, decade)), x: plot.x0 - 6, y: py + 4, anchor: "end")
            decade += 1
        }
        out += text("percentile", x: (plot.x0 + plot.x1) / 2, y: plot.y1 + 36, anchor: "middle")
        out += text("ms", x: plot.x0 - 50, y: plot.y0 - 8, anchor: "start")
        for (i, (name, points)) in curves.enumerated() where !points.isEmpty {
            let colour = colours[i % colours.count]
            let path = points.map { String(format: "%.1f,%.1f", x($0.percentile), y($0.nanos)) }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" points=\"\(path)\"/>\n"
            out += line(plot.x0 + 10, plot.y0 + 14 + Double(i) * 16, plot.x0 + 30, plot.y0 + 14 + Double(i) * 16, colour, width: 3)
            out += text(name, x: plot.x0 + 36, y: plot.y0 + 18 + Double(i) * 16, anchor: "start")
        }
        return out
    }

    /// Per second of the run: ticks sent and committed, messages delivered (right-hand scale).
    private static func throughputPanel(_ run: BenchResult, top: Double) -> String {
        let plot = (x0: margin.left, x1: width - margin.right, y0: top + margin.top, y1: top + panelHeight - margin.bottom)
        var sent: [Double] = [], delivered: [Double] = [], committed: [Double] = []
        var previous = BenchResult.Second(second: 0, sent: 0, delivered: 0, committed: 0, daemonResidentBytes: nil)
        for s in run.timeline {
            sent.append(Double(s.sent - min(s.sent, previous.sent)))
            delivered.append(Double(s.delivered - min(s.delivered, previous.delivered)))
            if let c = s.committed { committed.append(Double(c - min(c, previous.committed ?? 0))) }
            previous = s
        }
        let seconds = Double(max(1, run.timeline.count))
        let top1 = max(1, (sent + committed).max() ?? 1), top2 = max(1, delivered.max() ?? 1)
        func x(_ i: Int) -> Double { plot.x0 + Double(i + 1) / seconds * (plot.x1 - plot.x0) }
        func series(_ values: [Double], scale: Double, colour: String) -> String {
            let points = values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), plot.y1 - $0.element / scale * (plot.y1 - plot.y0)) }
            return "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" points=\"\(points.joined(separator: " "))\"/>\n"
        }
        var out = text("Throughput per second (ticks: left scale; messages to clients: right scale)", x: plot.x0, y: top + 20, anchor: "start", weight: "bold")
        for i in 0...4 {
            let py = plot.y1 - Double(i) / 4 * (plot.y1 - plot.y0)
            out += line(plot.x0, py, plot.x1, py, "#ddd")
            out += text(grouped(UInt64(top1 * Double(i) / 4)), x: plot.x0 - 6, y: py + 4, anchor: "end")
            out += text(grouped(UInt64(top2 * Double(i) / 4)), x: plot.x1, y: py - 3, anchor: "end")
        }
        out += text("seconds", x: (plot.x0 + plot.x1) / 2, y: plot.y1 + 36, anchor: "middle")
        for i in stride(from: 0, to: run.timeline.count, by: max(1, run.timeline.count / 10)) {
            out += text("\(i + 1)", x: x(i), y: plot.y1 + 16, anchor: "middle")
        }
        out += series(sent, scale: top1, colour: colours[0]) + series(delivered, scale: top2, colour: colours[1])
        if !committed.isEmpty { out += series(committed, scale: top1, colour: colours[2]) }
        for (i, (name, colour)) in [("ticks sent", colours[0]), ("messages delivered", colours[1]), ("ticks committed", colours[2])].enumerated()
        where i < 2 || !committed.isEmpty {
            out += line(plot.x0 + 10, plot.y0 + 14 + Double(i) * 16, plot.x0 + 30, plot.y0 + 14 + Double(i) * 16, colour, width: 3)
            out += text(name, x: plot.x0 + 36, y: plot.y0 + 18 + Double(i) * 16, anchor: "start")
        }
        return out
    }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ colour: String, width: Double = 1) -> String {
        String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"%.1f\"/>\n", x1, y1, x2, y2, colour, width)
    }

    private static func text(_ s: String, x: Double, y: Double, anchor: String, weight: String = "normal", size: Int = 12) -> String {
        let escaped = s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        return String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%@\" font-weight=\"%@\" font-size=\"%d\">%@</text>\n", x, y, anchor, weight, size, escaped)
    }

    private static func formatMillis(_ ms: Double) -> String {
        ms >= 1 ? String(format: "%.0f", ms) : ms >= 0.1 ? String(format: "%.1f", ms) : String(format: "%.2f", ms)
    }
}
