"""A real HTTP server on a free loopback port for the live providers' tests: each GET is
answered by a function of its query, so a test scripts answers and records what was asked."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (status, headers, body) for one request's query parameters
Answer = Callable[[dict[str, str]], tuple[int, dict[str, str], bytes]]


@contextmanager
def local_http(answer: Answer) -> Iterator[str]:
    """The server's base URL (``http://127.0.0.1:PORT``) while it runs."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = answer(
                dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            )
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
