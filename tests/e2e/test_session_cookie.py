"""The browser's refresh token as an HttpOnly cookie, through a real Envoy (auth_svc/session_cookie.py).

A small stack of its own (auth_svc, Envoy, the dashboard's files): sign-in in cookie mode puts the
refresh token in ``Set-Cookie`` only; a refresh with the cookie rotates it; a reused one revokes
the family and clears the cookie; a cookie without the session header, or from another site, is
refused; sign-out clears it. Then headless Chromium: script cannot read the token, a reload resumes
the session through the cookie, and a page on another site cannot use it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Stack, start_stack
from tests.e2e.test_dashboard import DASHBOARD, USER, USER_PASSWORD, run_scenario
from tests.e2e.test_dashboard import pytestmark as needs_browser

SESSION = {"x-energypulse-session": "cookie"}


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    parts = ["auth_svc", "envoy"]
    if (DASHBOARD / "dist" / "index.html").exists():
        parts.append("web")
    var_dir: Path = tmp_path_factory.mktemp("session-cookie")
    stack = start_stack(var_dir, parts, meters=3, timeout=120)
    yield stack
    stack.close()


def _post(
    stack: Stack, path: str, body: object, headers: dict[str, str]
) -> tuple[int, list[str], dict[str, object]]:
    request = urllib.request.Request(
        stack.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get_all("set-cookie") or [], json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_all("set-cookie") or [], json.loads(error.read())


def _cookie(set_cookie: list[str]) -> str:
    """``ep_refresh=<value>`` of the one Set-Cookie, checked for its attributes."""
    assert len(set_cookie) == 1
    value, *attributes = [part.strip() for part in set_cookie[0].split(";")]
    assert value.startswith("ep_refresh=")
    assert set(attributes) >= {"HttpOnly", "SameSite=Strict", "Path=/api/v1/auth/"}
    return value


def _reason(body: dict[str, object]) -> str:
    details = body["details"]
    assert isinstance(details, list) and len(details) == 1
    return str(details[0]["reason"])


def _sign_in(stack: Stack) -> str:
    status, set_cookie, body = _post(
        stack, "/api/v1/auth/login", {"username": USER, "password": USER_PASSWORD}, SESSION
    )
    assert status == 200
    tokens = body["tokens"]
    assert (
        isinstance(tokens, dict) and tokens["accessToken"] and tokens["refreshToken"] == ""
    )  # not in the body
    return _cookie(set_cookie)


def test_sign_in_sets_the_cookie_and_a_refresh_rotates_it(edge: Stack) -> None:
    first = _sign_in(edge)
    assert len(first) > len("ep_refresh=") + 40
    status, set_cookie, body = _post(edge, "/api/v1/auth/refresh", {}, {**SESSION, "cookie": first})
    assert status == 200 and body["tokens"]["refreshToken"] == ""  # type: ignore[index]
    second = _cookie(set_cookie)
    assert second != first
    # Clients without cookie mode keep the token in the body (the SDK, scripts).
    status, set_cookie, body = _post(
        edge, "/api/v1/auth/login", {"username": USER, "password": USER_PASSWORD}, {}
    )
    assert status == 200 and set_cookie == [] and body["tokens"]["refreshToken"]  # type: ignore[index]


def test_a_reused_cookie_revokes_the_family_and_is_cleared(edge: Stack) -> None:
    first = _sign_in(edge)
    status, set_cookie, _ = _post(edge, "/api/v1/auth/refresh", {}, {**SESSION, "cookie": first})
    second = _cookie(set_cookie)
    status, set_cookie, body = _post(edge, "/api/v1/auth/refresh", {}, {**SESSION, "cookie": first})
    assert status == 401 and _reason(body) == "REFRESH_TOKEN_REUSED"
    assert _cookie(set_cookie) == "ep_refresh=" and "Max-Age=0" in set_cookie[0]
    # The whole family is gone: the rotated token is refused too.
    status, _, body = _post(edge, "/api/v1/auth/refresh", {}, {**SESSION, "cookie": second})
    assert status == 401 and _reason(body) == "REFRESH_TOKEN_INVALID"


def test_a_cookie_without_the_session_header_or_from_another_site_is_refused(edge: Stack) -> None:
    cookie = _sign_in(edge)
    # What a cross-site form or simple fetch could send: the cookie alone (if SameSite let it).
    status, set_cookie, body = _post(edge, "/api/v1/auth/refresh", {}, {"cookie": cookie})
    assert (status, _reason(body), set_cookie) == (403, "SESSION_HEADER_REQUIRED", [])
    for header in ({"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}, {"origin": "null"}):
        status, _, body = _post(edge, "/api/v1/auth/refresh", {}, {**SESSION, "cookie": cookie, **header})
        assert (status, _reason(body)) == (403, "SESSION_CROSS_SITE")
    status, _, body = _post(edge, "/api/v1/auth/logout", {}, {"cookie": cookie})
    assert (status, _reason(body)) == (403, "SESSION_HEADER_REQUIRED")
    # Refused attempts did not spend it: the dashboard's own refresh still works.
    assert (
        _post(
            edge, "/api/v1/auth/refresh", {}, {**SESSION, "cookie": cookie, "sec-fetch-site": "same-origin"}
        )[0]
        == 200
    )


def test_sign_out_revokes_the_session_and_clears_the_cookie(edge: Stack) -> None:
    cookie = _sign_in(edge)
    status, set_cookie, _ = _post(edge, "/api/v1/auth/logout", {}, {**SESSION, "cookie": cookie})
    assert status == 200 and _cookie(set_cookie) == "ep_refresh=" and "Max-Age=0" in set_cookie[0]
    status, _, body = _post(edge, "/api/v1/auth/refresh", {}, {**SESSION, "cookie": cookie})
    assert status == 401 and _reason(body) == "REFRESH_TOKEN_INVALID"


@needs_browser
def test_the_browser_keeps_the_token_where_script_cannot_read_it(edge: Stack) -> None:
    if "web" not in edge.processes.procs:
        pytest.skip("needs the dashboard build (dashboard/dist)")
    result = run_scenario(edge, "refresh-cookie", {"username": USER, "password": USER_PASSWORD})
    for seen in (result["afterSignIn"], result["afterReload"]):
        assert "ep_refresh" not in seen["documentCookie"]
        # Script-readable storage holds no session material: at most the language the browser
        # chose (a preference the tests pin to en-GB), never a token.
        assert seen["sessionStorage"] == []
        # The language preference and the "signed in here" hint (a flag, "1"): no session material.
        stored = dict(seen["localStorage"])
        assert set(stored) <= {"energypulse.locale", "energypulse.signed-in"}, stored
        assert stored.get("energypulse.locale", "en-GB") in ("en-GB", "nb-NO")
        assert stored.get("energypulse.signed-in", "1") == "1"
    assert result["cookie"] == {
        "httpOnly": True,
        "sameSite": "Strict",
        "path": "/api/v1/auth/",
        "secure": False,  # plain http on loopback; Secure when the edge sees https
        "hasValue": True,
    }
    # A reload resumes the session with one refresh through Envoy, which rotates the cookie.
    assert result["refreshStatuses"] == [200] and result["rotated"] is True
    # Another site: the simple POST went out without the cookie and was refused; the one with the
    # session header never left the browser (no CORS grant at the edge).
    cross = result["crossSite"]
    assert cross["preflightedSent"] is False
    assert cross["requests"] and all("ep_refresh" not in r["cookie"] for r in cross["requests"])
    assert cross["statuses"] and all(400 <= status < 500 for status in cross["statuses"])
    assert result["cookieUnchangedByCrossSite"] is True
