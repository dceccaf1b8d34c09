"""Telemetry ingest: MQTT readings -> validation -> idempotent storage -> TelemetryService."""
