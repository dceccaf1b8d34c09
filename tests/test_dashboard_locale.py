"""The dashboard build's default locale follows the installation's rule set (issues #17, #21)."""

from __future__ import annotations

import shutil
from pathlib import Path

from devstack.env import dashboard_locale
from energy.ratebook import DEFAULT_RULESET


def test_a_nok_rule_set_is_read_in_norwegian() -> None:
    assert dashboard_locale({}) == "nb-NO"  # Norway's rule set, the default
    assert dashboard_locale({"EP_BILL_RULESET": str(DEFAULT_RULESET)}) == "nb-NO"


def test_an_eur_rule_set_is_read_in_english(tmp_path: Path) -> None:
    ruleset = tmp_path / "eur"
    shutil.copytree(DEFAULT_RULESET, ruleset)
    for name in ("taxes.toml", "support.toml"):
        file = ruleset / name
        file.write_text(file.read_text().replace('currency = "NOK"', 'currency = "EUR"'))
    assert dashboard_locale({"EP_BILL_RULESET": str(ruleset)}) == "en-GB"
