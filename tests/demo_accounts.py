"""The demo passwords test stacks and in-process services sign in with (test-only values; the
shipped local run and compose generate theirs per installation: devstack/secrets.py)."""

from __future__ import annotations

from devstack.stack import TEST_STACK_DEMO_PASSWORDS

DEMO_ADMIN_PASSWORD = TEST_STACK_DEMO_PASSWORDS["EP_AUTH_DEMO_ADMIN_PASSWORD"]
DEMO_USER_PASSWORD = TEST_STACK_DEMO_PASSWORDS["EP_AUTH_DEMO_USER_PASSWORD"]
DEMO_PASSWORDS = (DEMO_ADMIN_PASSWORD, DEMO_USER_PASSWORD)
