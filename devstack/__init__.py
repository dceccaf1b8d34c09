"""The local stack: ports, environment, broker and readiness for ./scripts/run and the e2e tests.

The Procfile names the processes; this package gives them a consistent environment so the local
run, the end-to-end tests and docker compose start the same commands the same way.
"""
