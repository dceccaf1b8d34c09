"""ledger_svc: EnergyPulse's tamper-evident ledger of predictions and settlements (docs/ledger-spec.md)."""
