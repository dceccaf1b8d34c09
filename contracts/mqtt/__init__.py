"""MQTT reading contract: JSON schema (reading.schema.json) and topic layout (reading.py)."""
