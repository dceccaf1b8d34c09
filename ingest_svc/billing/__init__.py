"""Billing: settling metered energy, pricing it, forecasts and ledger appends (outbox)."""
