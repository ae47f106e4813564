"""`tusk worker` processes that share a module's tasks through a Kafka consumer group (docs/kafka.md, Workers)."""
