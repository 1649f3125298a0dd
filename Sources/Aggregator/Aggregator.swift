/// The Aggregator module: 1-minute OHLCV candles, volume statistics and latest prices, as pure
/// logic driven by the pipeline thread (see DESIGN.md). Its types arrive with the aggregator issue;
/// this file only anchors the module in the package layout.
public enum AggregatorModule {}
