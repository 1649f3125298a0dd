import CRdKafka
import Glibc
import Ingest
import Synchronization

/// A librdkafka producer for a fixed set of topics: idempotent (`enable.idempotence=true`, which
/// implies `acks=all` and keeps each partition's order through retries), keyed messages partitioned
/// as Kafka's Java clients do (`murmur2_random`), every message reported back by its `token`.
///
/// `produce` never blocks: it queues, or says the local queue is full. Delivery reports come to
/// `onDelivery` on the thread that calls `poll` or `flush`, so a single-threaded caller needs no
/// locks. librdkafka's own log lines and errors go to `log`.
public final class KafkaProducer: @unchecked Sendable {
    /// What `produce` did with a message.
    public enum Queued: Equatable, Sendable {
        case queued
        /// The local queue (`queue.buffering.max.messages`/`.kbytes`) is full: poll, or give up.
        case queueFull
    }

    /// The librdkafka the process runs with (`rd_kafka_version_str`).
    public static var libraryVersion: String { String(cString: rd_kafka_version_str()) }

    /// Called for each message, with its token and nil when the broker acknowledged it (all
    /// in-sync replicas), or the error it finally failed with.
    public typealias DeliveryHandler = @Sendable (_ token: UInt64, _ error: KafkaError?) -> Void

    private let handle: OpaquePointer
    private let topics: [String: OpaquePointer]
    private let callbacks: Unmanaged<Callbacks>

    /// - Parameters:
    ///   - brokers: `host:port[,host:port…]` (`bootstrap.servers`).
    ///   - topics: every topic this producer writes to.
    ///   - properties: further librdkafka settings, applied after ours (a wrong name or value is an error).
    public init(brokers: String, topics: [String], properties: [(String, String)] = [],
                log: @escaping @Sendable (String) -> Void, onDelivery: @escaping DeliveryHandler) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        let settings: [(String, String)] = [
            ("bootstrap.servers", brokers),
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("partitioner", "murmur2_random"),
            ("client.id", "akis"),
        ] + properties
        for (name, value) in settings {
            if let problem = Self.set(conf, name, value) {
                rd_kafka_conf_destroy(conf)
                throw KafkaError("Kafka setting \(name): \(problem)")
            }
        }
        let callbacks = Unmanaged.passRetained(Callbacks(log: log, onDelivery: onDelivery))
        rd_kafka_conf_set_opaque(conf, callbacks.toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            let callbacks = Unmanaged<Callbacks>.fromOpaque(opaque).takeUnretainedValue()
            let token = UInt64(UInt(bitPattern: message.pointee._private)) &- 1
            let err = message.pointee.err
            callbacks.onDelivery(token, err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(code: err))
        }
        // Errors come twice, as a log line and through the error callback: the log lines are
        // kept (rate-limited: a broker that is down says so every second), the callback only
        // for the idempotent producer's fatal errors, which the log does not repeat.
        rd_kafka_conf_set_error_cb(conf) { _, code, reason, opaque in
            guard let opaque, rd_kafka_resp_err_t(code) == RD_KAFKA_RESP_ERR__FATAL else { return }
            let callbacks = Unmanaged<Callbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.say("kafka: fatal: \(reason.map { KafkaProducer.text($0) } ?? "")", force: true)
        }
        rd_kafka_conf_set_log_cb(conf) { client, level, facility, text in
            guard let client, let opaque = rd_kafka_opaque(client) else { return }
            let callbacks = Unmanaged<Callbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.say("kafka: \(text.map { KafkaProducer.text($0) } ?? "") [\(facility.map { KafkaProducer.text($0) } ?? "")]", force: false)
        }
        var problem = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &problem, problem.count) else {
            rd_kafka_conf_destroy(conf)
            callbacks.release()
            throw KafkaError("cannot create the Kafka producer: \(Self.text(problem))")
        }
        var handles: [String: OpaquePointer] = [:]
        for topic in topics where handles[topic] == nil {
            guard let t = rd_kafka_topic_new(handle, topic, nil) else {
                let reason = KafkaError(code: rd_kafka_last_error())
                for h in handles.values { rd_kafka_topic_destroy(h) }
                rd_kafka_destroy(handle)
                callbacks.release()
                throw KafkaError("cannot use the Kafka topic \(topic): \(reason)")
            }
            handles[topic] = t
        }
        self.handle = handle
        self.topics = handles
        self.callbacks = callbacks
    }

    deinit {
        for t in topics.values { rd_kafka_topic_destroy(t) }
        rd_kafka_destroy(handle)
        callbacks.release()
    }

    /// Queues one message (its bytes are copied). `token` comes back in its delivery report.
    public func produce(topic: String, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, token: UInt64) throws(KafkaError) -> Queued {
        guard let t = topics[topic] else { throw KafkaError("the producer was not made for topic \(topic)") }
        let opaque = UnsafeMutableRawPointer(bitPattern: UInt(token &+ 1))
        let rc = rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, UnsafeMutableRawPointer(mutating: value.baseAddress), value.count,
                                  key.baseAddress, key.count, opaque)
        if rc == 0 { return .queued }
        let err = rd_kafka_last_error()
        if err == RD_KAFKA_RESP_ERR__QUEUE_FULL { return .queueFull }
        throw KafkaError(code: err)
    }

    /// Queues one message; see `produce(topic:key:value:token:)`.
    public func produce(topic: String, key: [UInt8], value: [UInt8], token: UInt64) throws(KafkaError) -> Queued {
        let result = key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in Result { () throws(KafkaError) in try produce(topic: topic, key: k, value: v, token: token) } }
        }
        return try result.get()
    }

    /// Serves delivery reports (and callbacks) for up to `timeoutMilliseconds`; returns how many events it served.
    @discardableResult
    public func poll(timeoutMilliseconds: Int32 = 0) -> Int { Int(rd_kafka_poll(handle, timeoutMilliseconds)) }

    /// Waits up to `timeoutMilliseconds` for every queued message's delivery report; false when
    /// some are still outstanding.
    public func flush(timeoutMilliseconds: Int32) -> Bool { rd_kafka_flush(handle, timeoutMilliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR }

    /// Messages queued or in flight, not yet reported.
    public var outstanding: Int { Int(rd_kafka_outq_len(handle)) }

    /// The idempotent producer's fatal error, if one was raised (the producer is then unusable).
    public var fatal: KafkaError? {
        var text = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &text, text.count)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError("fatal: \(Self.text(text))")
    }

    private static func set(_ conf: OpaquePointer, _ name: String, _ value: String) -> String? {
        var problem = [CChar](repeating: 0, count: 512)
        return rd_kafka_conf_set(conf, name, value, &problem, problem.count) == RD_KAFKA_CONF_OK ? nil : text(problem)
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func text(_ pointer: UnsafePointer<CChar>) -> String {
        String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }

    /// The user's callbacks; librdkafka calls them from its threads and the polling one.
    private final class Callbacks: Sendable {
        let log: @Sendable (String) -> Void
        let onDelivery: DeliveryHandler
        /// Five lines a minute, then a count of the ones held back.
        private let limiter = Mutex(LogRateLimiter(limit: 5, windowNanos: 60_000_000_000))

        init(log: @escaping @Sendable (String) -> Void, onDelivery: @escaping DeliveryHandler) {
            self.log = log
            self.onDelivery = onDelivery
        }

        func say(_ line: String, force: Bool) {
            if force { return log(line) }
            if let admitted = limiter.withLock({ $0.line(line, now: Clock.monotonicNanos()) }) { log(admitted) }
        }
    }
}
