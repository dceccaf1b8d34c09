"""``python -m witness_svc``: watch and cosign the ledger's checkpoints until SIGTERM."""

import sys

from witness_svc.server import main

sys.exit(main())
