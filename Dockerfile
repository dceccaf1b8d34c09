# One image for every Python service (auth_svc, predict_svc, ledger_svc, ingest_svc, meter_sim);
# docker-compose.yml picks the command, the same one the Procfile runs locally.
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1
# Two malloc arenas instead of up to 8 per core: ~13 MB less resident memory per service
# (README, Configuration).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
# Dependencies first (a layer of their own): no package directory is here yet, so this installs
# only them.
COPY pyproject.toml ./
RUN pip install .
COPY protos ./protos
COPY scripts/gen_protos.py ./scripts/gen_protos.py
# gen_protos.py writes build/openapi.json with envoy/openapi.py (which reads envoy/generate.py).
COPY envoy/generate.py envoy/openapi.py ./envoy/
RUN python scripts/gen_protos.py --typescript no
COPY common ./common
COPY energy ./energy
COPY contracts ./contracts
COPY devstack ./devstack
COPY deploy ./deploy
COPY auth_svc ./auth_svc
COPY predict_svc ./predict_svc
COPY ledger_svc ./ledger_svc
COPY ingest_svc ./ingest_svc
COPY meter_sim ./meter_sim
COPY witness_svc ./witness_svc
# The project itself (with the generated energypulse package): imported from site-packages, no
# PYTHONPATH.
RUN pip install --no-deps .
# The mount points of compose's named volumes exist in the image, owned by the service user: Docker
# seeds a new named volume from the image's directory (owner included), so they are not root-owned.
RUN useradd --system --uid 10001 energypulse \
 && mkdir -p /app/var/models /app/var/predict && chown -R energypulse /app/var
USER energypulse
