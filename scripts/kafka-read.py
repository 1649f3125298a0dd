"""Reads a Kafka topic from its beginning and prints each message as a JSON line
({"partition", "offset", "key", "value"}), for the tests (run with the venv's python, see
install_kafka_test_tools in scripts/common.sh). Partitions are assigned, not subscribed: consumer
groups time out on tansu.

Usage: kafka-read.py BROKER TOPIC COUNT TIMEOUT_SECONDS [CONTAINS | key=KEY]
Prints the messages whose value contains CONTAINS, or whose key is KEY (all without either); stops once COUNT distinct
values were printed, or when TIMEOUT_SECONDS pass without a new one, or three times that in all (exit status 3, with
what it read): a slow but steady producer on a busy machine is waited for, a stalled one is not. Messages sent
twice (at least once) have the same bytes: both are printed, counted once.
"""
import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

broker, topic, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
contains = sys.argv[5].encode() if len(sys.argv) > 5 else b""
key_filter = None
if contains.startswith(b"key="):
    key_filter, contains = contains[4:], b""
started = time.monotonic()
deadline = started + timeout
consumer = Consumer({"bootstrap.servers": broker, "group.id": "akis-tests", "enable.auto.commit": False,
                     "enable.partition.eof": False})
metadata = consumer.list_topics(topic, timeout=max(1.0, deadline - time.monotonic()))
partitions = sorted(metadata.topics[topic].partitions)
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
seen = set()
while len(seen) < count and time.monotonic() < deadline:
    message = consumer.poll(min(0.5, max(0.01, deadline - time.monotonic())))
    if message is None:
        continue
    if message.error():
        print(json.dumps({"error": str(message.error())}), file=sys.stderr)
        continue
    if contains not in message.value() or (key_filter is not None and message.key() != key_filter):
        continue
    if message.value() not in seen:
        deadline = min(time.monotonic() + timeout, started + 3 * timeout)
    seen.add(message.value())
    key = message.key()
    print(json.dumps({"partition": message.partition(), "offset": message.offset(),
                      "key": key.decode() if key is not None else None, "value": message.value().decode()}))
sys.stdout.flush()
consumer.close()
sys.exit(0 if len(seen) >= count else 3)
