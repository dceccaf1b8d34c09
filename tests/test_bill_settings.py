"""The EP_BILL_* settings are one definition (energy.billrules.BILL_ENV) that ingest_svc and
predict_svc both read: the same environment resolves to the same bill rules in both."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from common.config import describe, from_env
from energy.billrules import BILL_ENV, BillRules, BillSettings, bill_rules_from_env
from ingest_svc.config import IngestConfig

ROOT = Path(__file__).resolve().parents[1]
SERVICES = (
    "ingest_svc",
    "predict_svc",
    "ledger_svc",
    "auth_svc",
    "alert_svc",
    "witness_svc",
    "common",
    "energy",
)


def test_ingest_declares_exactly_the_shared_bill_settings() -> None:
    ingest = [row for row in describe(IngestConfig) if row[0].startswith("EP_BILL_")]
    assert ingest == describe(BillSettings)
    assert {env for env, _, _ in ingest} == {env for env, _, _ in BILL_ENV.values()}


def test_no_service_defines_an_ep_bill_setting_of_its_own() -> None:
    """A second env_field("EP_BILL_...") would be a second definition that can drift."""
    pattern = re.compile(r"env_field\(\s*['\"]EP_BILL_")
    found = [
        str(path.relative_to(ROOT))
        for package in SERVICES
        for path in (ROOT / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert "EP_BILL_RULESET" in (ROOT / "energy" / "billrules.py").read_text(encoding="utf-8")


def _resolved(rules: BillRules, days: list[date]) -> tuple[object, ...]:
    book = rules.book
    return (
        book.currency,
        rules.default_grid_company,
        rules.support_period,
        [rules.fx.rate_on(d) for d in days],
        [(book.vat_bp.at(d), book.elavgift.at(d), book.enova.at(d)) for d in days],
        [book.grid(rules.default_grid_company).at(d) for d in days],
    )


@pytest.mark.parametrize(
    "bill_env",
    [
        {},
        {
            "EP_BILL_EURNOK_FALLBACK": "10.90",
            "EP_BILL_DEFAULT_GRID_COMPANY": "bkk",
            "EP_BILL_SUPPORT_PERIOD": "quarter_hour",
        },
        {"EP_BILL_EURNOK_FILE": "{csv}", "EP_BILL_EURNOK_FALLBACK": ""},
    ],
)
def test_both_services_resolve_the_same_bill_rules(bill_env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "eurnok.csv"
    csv.write_text("date,eur_nok\n2026-01-02,11.71\n2026-01-05,11.64\n", encoding="utf-8")
    env = {k: v.replace("{csv}", str(csv)) for k, v in bill_env.items()}
    ingest = from_env(IngestConfig, {**env, "EP_INGEST_BRIDGE": "0"}).bill_settings()
    predict = from_env(BillSettings, env)  # what predict_svc's __main__ reads (bill_rules_from_env)
    assert ingest == predict
    for name, value in env.items():  # the environment is honoured, not the defaults
        field = next(key for key, (var, _, _) in BILL_ENV.items() if var == name)
        assert getattr(predict, field) == value
    days = [date(2026, 1, 5), date(2026, 1, 7)]
    assert _resolved(ingest.rules(), days) == _resolved(bill_rules_from_env(env), days)
