"""MQTT intake: subscriber, batching pipeline, validation, storage, device statuses."""
