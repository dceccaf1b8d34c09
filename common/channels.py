"""Client channels between services: round-robin over every resolved replica, keepalive, and
transparent retries of UNAVAILABLE for idempotent calls. Every call still passes its own deadline."""

from __future__ import annotations

import json

import grpc

__all__ = ["DEFAULT_DEADLINE_SECONDS", "make_channel"]

DEFAULT_DEADLINE_SECONDS = 10.0

_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def make_channel(target: str) -> grpc.aio.Channel:
    """An insecure aio channel to ``target`` (``host:port`` or ``dns:///name:port``)."""
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 20000),
            ("grpc.keepalive_timeout_ms", 5000),
            ("grpc.max_receive_message_length", 16 * 1024 * 1024),
        ],
    )
