"""HTTP plumbing of the live market providers (prices, weather), without pandas: the weather
forecast is read on the serving path, which never imports pandas.

HTTP error statuses are answers, not exceptions (:func:`http_get`); :func:`check_status` maps
the ones a provider must survive to a :class:`ProviderError` with a short metric label."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Get", "HttpAnswer", "ProviderError", "check_status", "http_get"]


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    headers: Mapping[str, str]


def http_get(url: str, params: Mapping[str, str], timeout: float = 30.0) -> HttpAnswer:
    """GET with the standard library; HTTP error statuses are answers, not exceptions.
    Transport failures raise :class:`ProviderError` (``unreachable``)."""
    full = f"{url}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(full, timeout=timeout) as response:
            return HttpAnswer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, exc.read(), dict(exc.headers or {}))
    except (OSError, ValueError) as exc:
        raise ProviderError("unreachable", f"{url}: {exc}") from exc


class ProviderError(RuntimeError):
    """A provider answered, but not with usable data. ``reason`` is a short metric label;
    ``retry_after`` (seconds) when the server said how long to wait."""

    def __init__(self, reason: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.retry_after = retry_after


def check_status(answer: HttpAnswer, what: str) -> None:
    if answer.status == 401 or answer.status == 403:
        raise ProviderError("unauthorized", f"{what} answered HTTP {answer.status} (check the token)")
    if answer.status == 429:
        raise ProviderError("rate_limited", f"{what} answered HTTP 429", _retry_after(answer.headers))
    if answer.status >= 500:
        raise ProviderError(
            "server_error", f"{what} answered HTTP {answer.status}", _retry_after(answer.headers)
        )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


Get = Callable[[str, Mapping[str, str]], HttpAnswer]
