"""A first visit downloads the build's default language only, and of it only what the sign-in page
shows (issue #21): each text catalogue is two chunks of its own, the default one's start part
preloaded beside the entry script, the other language fetched when a browser chose it, the
signed-in pages' words with their shell (dashboard/src/lib/i18n/index.ts, vite.config.ts)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bench.bench_dashboard import DASHBOARD, first_visit_files

# One sentence of the sign-in page in each catalogue (src/lib/i18n/{en,nb}.ts: auth.useAccount).
WORDS = {"en-GB": "Use your EnergyPulse account.", "nb-NO": "Bruk EnergyPulse-kontoen din."}
# One of the home page's (the pages part: en-pages.ts, nb-pages.ts).
PAGE_WORDS = {"en-GB": "This month so far", "nb-NO": "Denne måneden så langt"}


def _build(out_dir: Path, locale: str) -> Path:
    # VITE_LOCALE (which wins) emptied: a developer's own setting must not pick the language here.
    env = {**os.environ, "VITE_LOCALE": "", "VITE_EP_LOCALE": locale}
    subprocess.run(
        ["node", "node_modules/vite/bin/vite.js", "build", "--outDir", str(out_dir), "--emptyOutDir"],
        cwd=DASHBOARD,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out_dir


@pytest.mark.slow
@pytest.mark.parametrize("locale", ["en-GB", "nb-NO"])
def test_the_first_visit_carries_the_default_language_only(tmp_path: Path, locale: str) -> None:
    if not (DASHBOARD / "node_modules").exists():
        pytest.skip("dashboard dependencies not installed (scripts/test installs them)")
    dist = _build(tmp_path / "dist", locale)
    (other,) = set(WORDS) - {locale}
    first = "".join((dist / ref).read_text() for ref in first_visit_files(dist))
    assert WORDS[locale] in first
    assert WORDS[other] not in first
    assert PAGE_WORDS[locale] not in first
    # The rest is still in the build: the other language, and the signed-in pages' words.
    chunks = [p.read_text() for p in (dist / "assets").glob("*.js")]
    assert any(WORDS[other] in c for c in chunks)
    assert any(PAGE_WORDS[locale] in c for c in chunks)
