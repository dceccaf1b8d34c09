from alert_svc.store import Base
from common.db import run_migrations_env

run_migrations_env(Base.metadata)
