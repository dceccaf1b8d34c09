"""The tariff setting shared by predict_svc and ingest_svc."""

from __future__ import annotations

import pytest

from energy.tariff import Tariff
from energy.tariff_settings import TariffSettings, parse_capacity_steps, tariff_from_env


def test_capacity_steps_parse_and_reject_bad_text() -> None:
    with pytest.raises(ValueError):
        parse_capacity_steps("2-10")
    steps = parse_capacity_steps("2:10, 5:16,inf:40")
    assert steps[-1].up_to_kw == float("inf") and steps[1].eur_per_month == 16


def test_default_setting_is_the_default_tariff() -> None:
    assert TariffSettings().tariff() == Tariff()
    assert tariff_from_env({}) == Tariff()


def test_environment_sets_the_tariff() -> None:
    tariff = tariff_from_env({"EP_PREDICT_VAT_RATE": "0.1", "EP_PREDICT_CAPACITY_STEPS": "3:7,inf:9"})
    assert tariff.vat_rate == 0.1
    assert [(s.up_to_kw, s.eur_per_month) for s in tariff.capacity_steps] == [(3, 7), (float("inf"), 9)]
