# Developer entry points. The README's two commands are `./scripts/run` and `./scripts/test`.
PY ?= .venv/bin/python

.PHONY: protos lint-protos envoy check test run bench

protos:  ## regenerate Python stubs, the Envoy descriptor set and dashboard TypeScript types
	$(PY) scripts/gen_protos.py

lint-protos:
	cd protos && ../dashboard/node_modules/.bin/buf lint && ../dashboard/node_modules/.bin/buf format -d --exit-code

envoy: protos  ## regenerate envoy/envoy.yaml (local) and envoy/envoy.compose.yaml
	$(PY) -m envoy_config.generate

check:
	./scripts/check

test:
	./scripts/test

run:
	./scripts/run

bench:
	./scripts/bench
