/// The Fanout module: the WebSocket server, subscriptions, per-client queues and the slow-consumer
/// policy (see DESIGN.md). Its types arrive with the fan-out issue; this file only anchors the
/// module in the package layout.
public enum FanoutModule {}
