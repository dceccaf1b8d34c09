"""The witness: watches the ledger's checkpoints and cosigns each one it has checked to extend the last."""
