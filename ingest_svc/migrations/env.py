from common.db import run_migrations_env
from ingest_svc.billing import bridge_store  # noqa: F401  (registers the bridge tables on Base)
from ingest_svc.intake.store import Base

run_migrations_env(Base.metadata)
