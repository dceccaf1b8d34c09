"""Free-port allocation: never assume a standard port is free."""

from __future__ import annotations

import socket

__all__ = ["free_port", "port_is_free"]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None, taken: set[int] | None = None) -> int:
    """``preferred`` when it is free, else a port the kernel hands out (not in ``taken``)."""
    taken = taken if taken is not None else set()
    if preferred and preferred not in taken and port_is_free(preferred):
        taken.add(preferred)
        return preferred
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port
