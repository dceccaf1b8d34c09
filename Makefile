# Developer entry points. The README's two commands are `./scripts/run` and `./scripts/test`.
PY ?= .venv/bin/python

.PHONY: protos lint-protos envoy check test run bench

protos:  ## regenerate Python stubs, the Envoy descriptor set and dashboard TypeScript types
	$(PY) scripts/gen_protos.py

lint-protos:
	cd protos && ../dashboard/node_modules/.bin/buf lint && ../dashboard/node_modules/.bin/buf format -d --exit-code

envoy: protos  ## regenerate build/envoy.yaml (local run) and build/envoy.compose.yaml
	$(PY) envoy/generate.py --mode local --out build/envoy.yaml
	$(PY) envoy/generate.py --mode compose --out build/envoy.compose.yaml

check:  ## format check, lint, types, fast tests (scripts/test runs it first)
	./scripts/check

test:
	./scripts/test

run:
	./scripts/run

bench:
	./scripts/bench
