"""Contracts that are not protobuf: the MQTT reading payload, its topics and dead-letter reasons."""
