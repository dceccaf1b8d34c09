"""common.paging: tokens round-trip, stay bound to their method and query, and every other input
is INVALID_PAGE_TOKEN (never an exception that would become INTERNAL)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.errors import InvalidArgument
from common.paging import MAX_POSITION, MAX_TOKEN_CHARS, Pager

PAGES = Pager("energypulse.test.v1.TestService/ListThings", default_size=50, max_size=500)
OTHER = Pager("energypulse.test.v1.TestService/ListOthers", default_size=50, max_size=500)

positions = st.one_of(st.integers(0, MAX_POSITION), st.text(max_size=128))
queries = st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=5)


def _reason(call: object) -> str:
    with pytest.raises(InvalidArgument) as raised:
        call()  # type: ignore[operator]
    return raised.value.reason


def _forge(state: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


@given(positions, queries)
def test_a_token_round_trips_for_its_method_and_query(
    position: int | str, query: list[str | int | None]
) -> None:
    token = PAGES.encode(position, query)
    assert len(token) <= MAX_TOKEN_CHARS
    decoded = PAGES.decode_int(token, query) if isinstance(position, int) else PAGES.decode_key(token, query)
    assert decoded == position


@given(st.integers(0, MAX_POSITION), queries)
def test_a_token_is_refused_by_another_method_or_query(position: int, query: list[str | int | None]) -> None:
    token = PAGES.encode(position, query)
    assert _reason(lambda: OTHER.decode_int(token, query)) == "INVALID_PAGE_TOKEN"
    assert _reason(lambda: PAGES.decode_int(token, [*query, "x"])) == "INVALID_PAGE_TOKEN"


@given(st.text(max_size=1200))
def test_any_string_is_a_position_or_invalid_page_token(token: str) -> None:
    for decode in (PAGES.decode_int, PAGES.decode_key):
        try:
            decode(token)
        except InvalidArgument as error:
            assert error.reason == "INVALID_PAGE_TOKEN"


@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("vbpko"), inner, max_size=4)
        ),
        max_leaves=8,
    )
)
def test_any_decodable_json_is_a_position_or_invalid_page_token(state: object) -> None:
    try:
        position = PAGES.decode_int(_forge(state))
    except InvalidArgument as error:
        assert error.reason == "INVALID_PAGE_TOKEN"
    else:
        assert position is None or 0 <= position <= MAX_POSITION


def test_a_good_token_for_the_binding_with_a_bad_position_is_refused() -> None:
    binding = json.loads(base64.urlsafe_b64decode(PAGES.encode(0) + "=="))["b"]
    for bad in ("abc", -1, MAX_POSITION + 1, 1.5, True, None, [1], "x" * 129):
        assert _reason(lambda bad=bad: PAGES.decode_int(_forge({"v": 1, "b": binding, "p": bad}))) == (
            "INVALID_PAGE_TOKEN"
        )
    assert _reason(lambda: PAGES.decode_int(_forge({"v": 2, "b": binding, "p": 1}))) == "INVALID_PAGE_TOKEN"
    assert _reason(lambda: PAGES.decode_key(PAGES.encode(7))) == "INVALID_PAGE_TOKEN"


def test_the_forged_token_of_issue_19_is_invalid_argument() -> None:
    # {"k": "households", "o": "abc"}: the old ingest format with a non-number offset (was a 500).
    assert (
        _reason(lambda: PAGES.decode_int("eyJrIjogImhvdXNlaG9sZHMiLCAibyI6ICJhYmMifQ"))
        == "INVALID_PAGE_TOKEN"
    )


def test_oversized_tokens_are_refused_before_decoding() -> None:
    assert _reason(lambda: PAGES.decode_int("A" * (MAX_TOKEN_CHARS + 1))) == "INVALID_PAGE_TOKEN"


def test_an_empty_token_is_the_first_page() -> None:
    assert PAGES.decode_int("") is None and PAGES.decode_key("") is None


@given(st.integers(-(2**31), 2**31))
def test_page_size_defaults_clamps_and_refuses_negatives(requested: int) -> None:
    if requested < 0:
        assert _reason(lambda: PAGES.size(requested)) == "INVALID_PAGE_SIZE"
    else:
        assert PAGES.size(requested) == (50 if requested == 0 else min(requested, 500))
