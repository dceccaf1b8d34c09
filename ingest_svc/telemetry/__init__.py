"""Telemetry read API: TelemetryService handlers and the queries behind them."""
