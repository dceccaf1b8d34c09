"""Page sizes and page tokens (AIP-158), one codec for every List RPC.

A token is opaque to clients: URL-safe base64 (unpadded) of a small JSON object
``{"v": version, "b": binding, "p": position}``. ``binding`` is a digest of the method and of
the query the page belongs to (filters, time range...), so a token replayed against another
method or another query is refused instead of silently paging something else. ``position`` is
where the next page starts: an integer (offset, id, height) or a short string (a key).

Tokens are not signed: a position only says where to resume, and what a caller may see is
decided by the query itself, so a forged position can only select a page the caller could
reach anyway. Every malformed token (bad base64, bad JSON, a foreign version or binding, a
position of the wrong type, negative, absurdly large or too long) is ``INVALID_ARGUMENT`` with
the reason ``INVALID_PAGE_TOKEN``, never an unhandled exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from common.errors import InvalidArgument
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["MAX_POSITION", "MAX_TOKEN_CHARS", "Pager", "QueryPart"]

VERSION = 1
# The largest integer JSON and every database's 64-bit OFFSET agree on exactly.
MAX_POSITION = 2**53 - 1
# Key positions are short (usernames are at most 64 characters).
MAX_KEY_CHARS = 128
# Room for the longest key even if every character is JSON-escaped (6 bytes), in base64.
MAX_TOKEN_CHARS = 4 * (64 + 6 * MAX_KEY_CHARS) // 3
_BINDING_CHARS = 16

QueryPart = str | int | None


def _invalid(detail: str) -> InvalidArgument:
    return InvalidArgument(reasons.INVALID_PAGE_TOKEN, f"page_token is not valid: {detail}")


@dataclass(frozen=True)
class Pager:
    """The paging rules of one List method: its page sizes and its tokens.

    ``method`` names what the token is for (the RPC's full name); ``default_size`` answers a
    page_size of 0, larger requests are clamped to ``max_size`` and negative ones refused.
    """

    method: str
    default_size: int
    max_size: int

    def size(self, requested: int) -> int:
        if requested < 0:
            raise InvalidArgument(reasons.INVALID_PAGE_SIZE, "page_size must not be negative")
        return min(requested or self.default_size, self.max_size)

    def _binding(self, query: Sequence[QueryPart]) -> str:
        canonical = json.dumps([self.method, list(query)], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:_BINDING_CHARS]

    def encode(self, position: int | str, query: Sequence[QueryPart] = ()) -> str:
        """The token for the page starting at ``position`` of ``query``."""
        _check_position(position)
        state = {"v": VERSION, "b": self._binding(query), "p": position}
        raw = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode_int(self, token: str, query: Sequence[QueryPart] = ()) -> int | None:
        """The integer position in ``token``; None for an empty token (the first page)."""
        position = self._decode(token, query)
        if position is not None and not isinstance(position, int):
            raise _invalid("wrong position type")
        return position

    def decode_key(self, token: str, query: Sequence[QueryPart] = ()) -> str | None:
        """The string position in ``token``; None for an empty token (the first page)."""
        position = self._decode(token, query)
        if position is not None and not isinstance(position, str):
            raise _invalid("wrong position type")
        return position

    def _decode(self, token: str, query: Sequence[QueryPart]) -> int | str | None:
        if not token:
            return None
        if len(token) > MAX_TOKEN_CHARS:
            raise _invalid("too long")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            state = json.loads(raw)
        except (binascii.Error, ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise _invalid("not a page token") from exc
        if not isinstance(state, dict) or set(state) != {"v", "b", "p"}:
            raise _invalid("not a page token")
        if state["v"] != VERSION or isinstance(state["v"], bool):
            raise _invalid("issued by another version")
        if state["b"] != self._binding(query):
            raise _invalid("issued for another method or query")
        position = state["p"]
        if not isinstance(position, int | str) or isinstance(position, bool):
            raise _invalid("wrong position type")
        try:
            _check_position(position)
        except ValueError as exc:
            raise _invalid(str(exc)) from exc
        return position


def _check_position(position: int | str) -> None:
    if isinstance(position, int) and not 0 <= position <= MAX_POSITION:
        raise ValueError("position out of range")
    if isinstance(position, str) and len(position) > MAX_KEY_CHARS:
        raise ValueError("position too long")
