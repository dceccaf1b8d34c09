"""Other zones' prices as day-ahead inputs (an option of the backtest, ``--neighbours``, not
shipped in the served model): aligned on the zone's days, only the prices of D-1 are read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.backtest import main
from predict_svc.dayahead import da_design
from predict_svc.dayahead_backtest import neighbour_prices
from predict_svc.market import load_market
from predict_svc.protocols import DayPanel


@pytest.fixture(scope="module")
def two_zones(entsoe_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NO1 from 2023-01-01 and NO5 from 2023-01-11 (a zone whose files start later)."""
    out = tmp_path_factory.mktemp("zones")
    for zone, first in (("NO_1", "2023-01-01"), ("NO_5", "2023-01-11")):
        for path in entsoe_dir.glob(f"*_{zone}.csv"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            day = frame["datetime"].str.slice(0, 10)
            frame[(day >= first) & (day <= "2023-03-31")].to_csv(out / path.name, index=False)
    return out


def test_other_zones_are_aligned_on_the_zones_days(two_zones: Path) -> None:
    panel = DayPanel.from_frame(load_market(two_zones, "NO1"))
    others = neighbour_prices(two_zones, "NO1", panel)
    assert list(others) == ["NO5"]
    no5 = DayPanel.from_frame(load_market(two_zones, "NO5"))
    start = panel.index_of(no5.days[0])
    assert start > 0 and np.isnan(others["NO5"][:start]).all()  # before NO5's files: unknown
    np.testing.assert_array_equal(others["NO5"][start : start + len(no5)], no5.price)


def test_only_the_other_zones_prices_of_d_minus_1_are_read(two_zones: Path) -> None:
    panel = DayPanel.from_frame(load_market(two_zones, "NO1"))
    others = neighbour_prices(two_zones, "NO1", panel)
    issue = panel.index_of("2023-02-14")  # D-1; D = 2023-02-15
    rows = np.array([issue])
    base = da_design(panel, rows, (0, 1), neighbours=others)
    assert {"nb_NO5_d-1", "nb_NO5_gap"} <= set(base.names)
    later = {"NO5": others["NO5"].copy()}
    later["NO5"][issue + 1 :] *= 3  # prices of D and later: not known at 10:00 CET on D-1
    np.testing.assert_array_equal(da_design(panel, rows, (0, 1), neighbours=later).X, base.X)
    changed = {"NO5": others["NO5"].copy()}
    changed["NO5"][issue] += 50  # D-1's: known (published on D-2) and read
    col = base.names.index("nb_NO5_d-1")
    assert not np.array_equal(da_design(panel, rows, (0, 1), neighbours=changed).X[:, col], base.X[:, col])


def test_cli_neighbours_reads_the_other_zones_and_says_so(
    entsoe_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "slice"
    data.mkdir()
    for zone in ("NO_1", "NO_5"):
        for path in entsoe_dir.glob(f"*_{zone}.csv"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            day = frame["datetime"].str.slice(0, 10)
            frame[(day >= "2021-09-01") & (day <= "2023-01-20")].to_csv(data / path.name, index=False)
    base = [*("--data-dir", str(data), "--zone", "NO1", "--train-end", "2023-01-05")]
    base += [*("--test-start", "2023-01-06", "--test-end", "2023-01-12", "--protocol", "day-ahead")]
    base += [
        *(
            "--recalibrate",
            "never",
            "--json",
            "--rounds",
            "20",
            "--lear-window",
            "400",
            "--lear-windows",
            "400",
        )
    ]
    assert main([*base, "--neighbours"]) == 0
    with_nb = json.loads(capsys.readouterr().out)
    assert main(base) == 0
    without = json.loads(capsys.readouterr().out)
    assert with_nb["neighbours"] == ["NO5"] and "neighbours" not in without  # the default report unchanged
    assert with_nb["lear"] == without["lear"]  # the LEAR baseline does not read them
    assert with_nb["lightgbm"]["mae"] != without["lightgbm"]["mae"]
    with pytest.raises(SystemExit):
        main([*base[:10], "--neighbours"])  # one-step: not an option there
    assert "--neighbours needs --protocol day-ahead or week-ahead" in capsys.readouterr().err
