"""Shared builders for the bill tests: local months of periods, a fixed EUR/NOK, rule set copies."""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt

from energy.fx import FixedFxSource
from energy.localtime import zone
from energy.ratebook import DEFAULT_RULESET

FX10 = FixedFxSource(Decimal(10))  # 100 EUR/MWh = 1 NOK/kWh = 100 ore/kWh: hand-checkable


def month_ms(year: int, month: int, minutes: int = 15, days: int | None = None) -> npt.NDArray[np.int64]:
    tz = zone("Europe/Oslo")
    start = datetime(year, month, 1, tzinfo=tz)
    end = (
        datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
        if days is None
        else datetime(year, month, days + 1, tzinfo=tz)
    )
    step = minutes * 60_000
    return np.arange(int(start.timestamp() * 1000), int(end.timestamp() * 1000), step, dtype=np.int64)


def copy_ruleset(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULESET, target)
    return target
