"""The whole schema of ingest's database: every room's tables, registered on the one ``Base``.

What the Alembic environment (``migrations/env.py``) and the migration test compare against.
"""

from __future__ import annotations

from ingest_svc.billing import bridge_store
from ingest_svc.db import Base
from ingest_svc.devices import store as device_store
from ingest_svc.intake import store

__all__ = ["Base"]

# Imported for their side effect: each module registers its tables on Base.
_TABLE_MODULES = (store, bridge_store, device_store)
