"""Start a command once a gRPC server reports SERVING (staged start of replicas).

    python -m devstack.after 127.0.0.1:50052 [--timeout 300] -- python -m predict_svc

Extra replicas of a service wait for the first one: it has migrated the database and seeded it
(demo accounts, keys) by then, so replicas never race each other through start-up. The command
replaces this process (exec), so signals from honcho reach the service itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from devstack.readiness import grpc_serving


def main(argv: list[str] | None = None) -> None:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if "--" not in args_in:
        raise SystemExit("usage: python -m devstack.after TARGET [--timeout S] -- COMMAND ...")
    split = args_in.index("--")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(args_in[:split])
    command = args_in[split + 1 :]
    if not command:
        raise SystemExit("no command after --")
    deadline = time.monotonic() + args.timeout
    while not asyncio.run(grpc_serving(args.target, timeout=1.0)):
        if time.monotonic() > deadline:
            raise SystemExit(
                f"{args.target} not SERVING after {args.timeout:.0f} s; not starting {command[0]}"
            )
        time.sleep(0.5)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
