from common.db import run_migrations_env
from ledger_svc.store import Base

run_migrations_env(Base.metadata)
