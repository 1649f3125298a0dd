import CRdKafka

/// A librdkafka error, or a problem setting the producer up, in words.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }

    init(code: rd_kafka_resp_err_t) {
        description = "\(String(cString: rd_kafka_err2str(code))) (\(String(cString: rd_kafka_err2name(code))))"
    }
}
