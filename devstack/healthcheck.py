"""Container healthcheck: exit 0 when a gRPC server reports SERVING (standard health protocol).

python -m devstack.healthcheck 127.0.0.1:50051 [service.Name]
"""

from __future__ import annotations

import asyncio
import sys

from devstack.readiness import grpc_serving


def main() -> None:
    target = sys.argv[1]
    service = sys.argv[2] if len(sys.argv) > 2 else ""
    sys.exit(0 if asyncio.run(grpc_serving(target, service, timeout=2.0)) else 1)


if __name__ == "__main__":
    main()
