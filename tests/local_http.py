"""A real HTTP server on a free loopback port, run in a thread for a block: the one set-up of the
tests' stand-in HTTP services (a live provider's API, the JSON gateway before the ledger)."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (status, headers, body) for one GET's query parameters
Answer = Callable[[dict[str, str]], tuple[int, dict[str, str], bytes]]


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that logs nothing (the test's output stays its own) and replies in one call."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """The server's base URL (``http://127.0.0.1:PORT``) while it runs."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@contextmanager
def answering(answer: Answer) -> Iterator[str]:
    """:func:`serve_http` answering each GET by ``answer`` of its query: a test scripts the
    answers and records what was asked."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self.reply(*answer(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))))

    with serve_http(Handler) as url:
        yield url
