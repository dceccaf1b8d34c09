"""The browser's refresh token as an HttpOnly cookie, set and read through Envoy's transcoder.

A browser (the dashboard) asks for cookie mode with the request header ``x-energypulse-session:
cookie`` on Login, RefreshToken and Logout. Then the refresh token never appears in a JSON body
(script on the page cannot read it): Login and RefreshToken send it as ``Set-Cookie`` (gRPC initial
metadata, which the transcoder passes on as a response header) and blank it in the response;
RefreshToken and Logout read it back from the ``cookie`` header when the body names no token.

The cookie: ``HttpOnly; SameSite=Strict; Path=/api/v1/auth/`` (the session routes only: refresh
and sign-out both need it; no other API call carries it), ``Max-Age`` the refresh lifetime,
``Secure`` when the edge saw HTTPS (``x-forwarded-proto``, which Envoy sets itself). Cleared
(``Max-Age=0``) on sign-out and whenever a refresh with it fails (spent, reused, revoked).

CSRF: a request that carries the cookie is only honoured with the custom header (a cross-site form
cannot send one, and a cross-site fetch with one needs a CORS preflight the edge does not grant:
the header is not in its allowed list), and never when the browser says it is cross-site
(``Sec-Fetch-Site`` other than ``same-origin``/``none``, or ``Origin: null``). SameSite=Strict
keeps the browser from sending the cookie cross-site in the first place. Rotation on every refresh
and reuse detection (a spent token revokes the family) are Accounts.refresh's, cookie or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie

from common.errors import PermissionDenied
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["COOKIE_NAME", "COOKIE_PATH", "SESSION_HEADER", "SessionRequest"]

COOKIE_NAME = "ep_refresh"
COOKIE_PATH = "/api/v1/auth/"
SESSION_HEADER = "x-energypulse-session"
SESSION_COOKIE_MODE = "cookie"
_SAME_SITE = {"same-origin", "none"}  # Sec-Fetch-Site values of the dashboard's own requests


class SessionRequest:
    """What one Login/RefreshToken/Logout call says about cookies (from its gRPC metadata)."""

    def __init__(self, metadata: Iterable[tuple[str, str | bytes]]) -> None:
        headers: dict[str, list[str]] = {}
        for key, value in metadata:
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            headers.setdefault(key.lower(), []).append(text)
        self._headers = headers
        self.cookie_mode = self._one(SESSION_HEADER).strip().lower() == SESSION_COOKIE_MODE
        self.secure = self._one("x-forwarded-proto").strip().lower() == "https"
        self.cookie_token = _cookie(headers.get("cookie", []))

    def _one(self, name: str) -> str:
        values = self._headers.get(name, [])
        return values[0] if values else ""

    def token(self, body_token: str) -> str:
        """The refresh token to use: the body's, else the cookie's (checked against CSRF)."""
        if body_token or not self.cookie_token:
            return body_token
        if not self.cookie_mode:
            raise PermissionDenied(
                reasons.SESSION_HEADER_REQUIRED,
                f"a refresh with the session cookie needs the header {SESSION_HEADER}: {SESSION_COOKIE_MODE}",
            )
        if self.cross_site():
            raise PermissionDenied(
                reasons.SESSION_CROSS_SITE, "the session cookie is not accepted cross-site"
            )
        return self.cookie_token

    def cross_site(self) -> bool:
        """The browser says the request comes from another site (Sec-Fetch-Site, sent by every
        current browser; an opaque ``Origin: null`` too). The Origin host is not compared: the
        service does not see the authority the browser used (Envoy rewrites it upstream)."""
        fetch_site = self._one("sec-fetch-site").strip().lower()
        return bool(fetch_site and fetch_site not in _SAME_SITE) or self._one("origin").strip() == "null"

    def set_cookie(self, token: str, max_age_s: int) -> tuple[str, str]:
        return ("set-cookie", self._cookie(token, max_age_s))

    def clear_cookie(self) -> tuple[str, str]:
        return ("set-cookie", self._cookie("", 0))

    def _cookie(self, value: str, max_age_s: int) -> str:
        parts = [
            f"{COOKIE_NAME}={value}",
            f"Path={COOKIE_PATH}",
            f"Max-Age={max_age_s}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


def _cookie(values: list[str]) -> str:
    for header in values:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        if COOKIE_NAME in jar and jar[COOKIE_NAME].value:
            return jar[COOKIE_NAME].value[:256]
    return ""
