import Testing
@testable import Bench

@Suite struct DaemonMetricsTests {
    @Test func samplesAndSumsByName() {
        let m = DaemonMetrics(text: """
            # HELP akis_lane_dropped_total Ticks dropped
            # TYPE akis_lane_dropped_total counter
            akis_lane_dropped_total{lane="store"} 0
            akis_lane_dropped_total{lane="fanout"} 12
            akis_store_ticks_total 9904
            akis_store_spool_batches 3.5
            garbage line
            """)
        #expect(m.samples["akis_lane_dropped_total{lane=\"fanout\"}"] == 12)
        #expect(m["akis_lane_dropped_total"] == 12)
        #expect(m["akis_store_ticks_total"] == 9904)
        #expect(m["akis_store_spool_batches"] == 3.5)
        #expect(m["akis_absent_total"] == 0)
    }
}
