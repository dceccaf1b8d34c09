"""Dead-letter reasons of the reading contract (data: dead_letter_reasons.json)."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict, cast

import orjson

__all__ = ["DEAD_LETTER_REASONS", "REASONS_PATH"]

REASONS_PATH = Path(__file__).resolve().parent / "dead_letter_reasons.json"


class _ReasonsFile(TypedDict):
    reasons: dict[str, str]


_DOC = cast(_ReasonsFile, orjson.loads(REASONS_PATH.read_bytes()))

DEAD_LETTER_REASONS: dict[str, str] = dict(_DOC["reasons"])
"""Reason -> what it means, in documentation order."""
