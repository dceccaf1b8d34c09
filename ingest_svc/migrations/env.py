from common.db import run_migrations_env
from ingest_svc.schema import Base

run_migrations_env(Base.metadata)
