"""Devices on the broker: per-device MQTT credentials, topic ACLs, revocation (docs/broker-security.md)."""
