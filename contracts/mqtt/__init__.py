"""MQTT reading contract, as data read by meter_sim and ingest_svc alike: the payload schema
(reading.schema.json, reading.py), the topic layout (topics.json, topics.py) and the dead-letter
reasons (dead_letter_reasons.json, dead_letters.py)."""
