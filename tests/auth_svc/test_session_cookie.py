"""auth_svc.session_cookie: which token a request names, and the cookie's attributes."""

from __future__ import annotations

import pytest

from auth_svc.session_cookie import SessionRequest
from common.errors import PermissionDenied

BROWSER = (("x-energypulse-session", "cookie"), ("cookie", "theme=dark; ep_refresh=tok-1"))


def test_the_body_token_wins_and_the_cookie_needs_the_session_header() -> None:
    assert SessionRequest(BROWSER).token("from-body") == "from-body"
    assert SessionRequest(BROWSER).token("") == "tok-1"
    with pytest.raises(PermissionDenied) as refused:
        SessionRequest((("cookie", "ep_refresh=tok-1"),)).token("")
    assert refused.value.reason == "SESSION_HEADER_REQUIRED"
    assert SessionRequest(()).token("") == ""  # nothing named: Accounts refuses it as invalid


@pytest.mark.parametrize(
    ("header", "refused"),
    [
        (("sec-fetch-site", "cross-site"), True),
        (("sec-fetch-site", "same-site"), True),
        (("origin", "null"), True),
        (("sec-fetch-site", "same-origin"), False),
        (("sec-fetch-site", "none"), False),
    ],
)
def test_cross_site_requests_cannot_use_the_cookie(header: tuple[str, str], refused: bool) -> None:
    request = SessionRequest((*BROWSER, header))
    if refused:
        with pytest.raises(PermissionDenied) as error:
            request.token("")
        assert error.value.reason == "SESSION_CROSS_SITE"
    else:
        assert request.token("") == "tok-1"


def test_the_cookie_is_httponly_strict_scoped_and_secure_behind_https() -> None:
    name, value = SessionRequest(BROWSER).set_cookie("tok-2", 600)
    assert name == "set-cookie"
    assert value == "ep_refresh=tok-2; Path=/api/v1/auth/; Max-Age=600; HttpOnly; SameSite=Strict"
    https = SessionRequest((*BROWSER, ("x-forwarded-proto", "https")))
    assert https.set_cookie("tok-2", 600)[1].endswith("; Secure")
    assert https.clear_cookie()[1].startswith("ep_refresh=; Path=/api/v1/auth/; Max-Age=0")
