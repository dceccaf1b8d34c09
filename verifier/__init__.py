"""Independent verifier of the EnergyPulse ledger.

Uses only the public JSON API (over HTTP) and the published key, and re-implements every hash
from docs/ledger-spec.md; it deliberately imports nothing from ledger_svc.
"""
