"""Dashboard figures: production bundle size (gzip), first-load time and sign-in-to-data time in
Chromium.

    .venv/bin/python -m bench.bench_dashboard        (prints JSON)

* Bundle: what the first visit downloads (index.html, the entry script, its modulepreloads and
  CSS), gzip level 9 like a typical static server, plus the whole dist/ for reference.
* First load: cold-cache page loads of the built app served by ``vite preview`` (the same server
  the Procfile runs), until the sign-in form is interactive; on loopback and under Lighthouse's
  "slow 4G" throttling (150 ms RTT, 1.6 Mbit/s).
* Sign-in to data: the whole stack (devstack, as ./scripts/run starts it, on free ports), a fresh
  browser context per run; from submitting the sign-in form as a household user until the home
  page shows real data (the live power value from the stream and the spot prices), on loopback.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median

from bench import children
from bench.report import Figure
from devstack.stack import ALL_PARTS, TEST_STACK_DEMO_PASSWORDS

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard"
DIST = DASHBOARD / "dist"
CHROMIUM = "/usr/bin/chromium"


def _gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def first_visit_files(dist: Path = DIST) -> set[str]:
    """The files index.html loads itself (entry script, modulepreloads, CSS), relative to ``dist``."""
    html = (dist / "index.html").read_text()
    return set(re.findall(r'(?:src|href)="/(assets/[^"]+\.(?:js|css))"', html))


def bundle_sizes(dist: Path = DIST) -> dict[str, float]:
    """Initial-load and total gzip bytes of dist/ (build it first: npm run build), or of another
    build folder (`vite build --outDir`: two builds compared in one run)."""
    index = dist / "index.html"
    refs = first_visit_files(dist)
    initial = _gzip_size(index) + sum(_gzip_size(dist / ref) for ref in refs)
    assets = [p for p in dist.rglob("*") if p.is_file() and p.suffix in {".js", ".css", ".html"}]
    return {
        "initial_gzip_kb": initial / 1024,
        "initial_files": float(len(refs) + 1),
        "total_gzip_kb": sum(_gzip_size(p) for p in assets) / 1024,
        "total_raw_kb": sum(p.stat().st_size for p in assets) / 1024,
    }


PREVIEW_ATTEMPTS = 3


def _serving(server: subprocess.Popen[bytes], url: str, timeout: float = 30.0) -> bool:
    """Whether ``server`` answers at ``url``: False when it exited first (its port was taken)."""
    deadline = time.monotonic() + timeout
    while server.poll() is None:
        try:
            urllib.request.urlopen(url, timeout=1).read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        time.sleep(0.5)  # vite exits at once on a taken port: whoever answered must be it
        return server.poll() is None
    return False


@contextmanager
def _preview_server(dist: Path = DIST) -> Iterator[str]:
    """``vite preview`` of ``dist`` for the block; yields its URL. Vite binds the port it is given
    (--strictPort), picked free just before: if another program took it meanwhile, vite exits and
    another port is tried."""
    for _attempt in range(PREVIEW_ATTEMPTS):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        args = [
            "node",
            "node_modules/vite/bin/vite.js",
            "preview",
            "--host",
            "127.0.0.1",
            "--outDir",
            str(dist),
        ]
        server = children.spawn(
            [*args, "--port", str(port), "--strictPort"], cwd=DASHBOARD, env=dict(os.environ)
        )
        url = f"http://127.0.0.1:{port}/"
        with children.running(server, timeout=10):
            if _serving(server, url):
                yield url
                return
    raise RuntimeError(f"vite preview exited before serving, {PREVIEW_ATTEMPTS} times")


def first_load(runs: int, dist: Path = DIST) -> dict[str, float]:
    """Median first-load timings (ms) on loopback and under slow-4G throttling, of ``dist``."""
    with _preview_server(dist) as url:
        figures: dict[str, float] = {}
        for network in ("none", "slow4g"):
            out = subprocess.run(
                [
                    "node",
                    "e2e/first-load.mjs",
                    "--base-url",
                    url,
                    "--runs",
                    str(runs),
                    "--network",
                    network,
                    "--chromium",
                    CHROMIUM,
                ],
                cwd=DASHBOARD,
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
            samples = json.loads(out.stdout.strip().splitlines()[-1])["runs"]
            key = "loopback" if network == "none" else "slow4g"
            for metric in ("fcpMs", "domContentLoadedMs", "loadMs", "interactiveMs"):
                values = [s[metric] for s in samples if s[metric] is not None]
                figures[f"{key}_{metric}"] = median(values) if values else float("nan")
            figures[f"{key}_transfer_kb"] = median(s["transferBytes"] for s in samples) / 1024
        return figures


# The whole system: sign-in through Envoy to auth_svc, the home page's data from predict_svc,
# ingest_svc's stream of meter_sim's readings, the ledger for the month's cost.
STACK_PARTS = ALL_PARTS
USER = "household-0001"


def sign_in_to_data(runs: int, dist: Path = DIST) -> dict[str, float]:
    """Median ms from submitting the sign-in form to the home page's data, against the real stack.
    One untimed run first: the stack's first request for each piece (a model's first forecast,
    the first stream subscriber) is start-up, not what a user sees on a running system."""
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        # A cap, not a wait: predict_svc trains its first models at start-up.
        stack = children.start_stack(
            Path(tmp), STACK_PARTS, timeout=300, extra_env={"EP_WEB_DIST": str(dist.resolve())}
        )
        try:
            out = subprocess.run(
                [
                    "node",
                    "e2e/sign-in-to-data.mjs",
                    "--base-url",
                    stack.base_url,
                    "--username",
                    USER,
                    "--password",
                    TEST_STACK_DEMO_PASSWORDS["EP_AUTH_DEMO_USER_PASSWORD"],
                    "--runs",
                    str(runs + 1),
                    "--chromium",
                    CHROMIUM,
                ],
                cwd=DASHBOARD,
                capture_output=True,
                text=True,
                timeout=900,
                check=True,
            )
        finally:
            stack.close()
    samples = json.loads(out.stdout.strip().splitlines()[-1])["runs"][1:]
    figures = {
        metric: median(s[metric] for s in samples)
        for metric in ("signedInMs", "livePowerMs", "pricesMs", "dataMs")
    }
    figures["dataMinMs"] = min(s["dataMs"] for s in samples)
    figures["dataMaxMs"] = max(s["dataMs"] for s in samples)
    return figures


def run(quick: bool) -> list[Figure]:
    if not (DIST / "index.html").exists():
        subprocess.run(["npm", "run", "--silent", "build"], cwd=DASHBOARD, check=True)
    sizes = bundle_sizes()
    figures = [
        Figure(
            "Dashboard",
            "First-visit download (gzip)",
            sizes["initial_gzip_kb"],
            "KiB",
            detail=f"index.html + {int(sizes['initial_files']) - 1} entry/preload/CSS files, gzip -9; "
            f"all of dist/: {sizes['total_gzip_kb']:.0f} KiB gzip, {sizes['total_raw_kb']:.0f} KiB raw",
        ),
    ]
    if shutil.which("node") and Path(CHROMIUM).exists():
        runs = 3 if quick else 7
        t = first_load(runs)
        figures += [
            Figure(
                "Dashboard",
                "First load to interactive sign-in, loopback (cold cache)",
                t["loopback_interactiveMs"],
                "ms",
                detail=f"median of {runs}; FCP {t['loopback_fcpMs']:.0f} ms, load event {t['loopback_loadMs']:.0f} ms; Chromium, vite preview",
            ),
            Figure(
                "Dashboard",
                "First load to interactive sign-in, slow 4G (150 ms RTT, 1.6 Mbit/s)",
                t["slow4g_interactiveMs"],
                "ms",
                target="<= 3000 ms",
                met=t["slow4g_interactiveMs"] <= 3000,
                detail=f"median of {runs}; FCP {t['slow4g_fcpMs']:.0f} ms; {t['slow4g_transfer_kb']:.0f} KiB transferred",
            ),
        ]
        d = sign_in_to_data(runs)
        figures.append(
            Figure(
                "Dashboard",
                "Sign-in to data, loopback (submit to live power and spot prices on the home page)",
                d["dataMs"],
                "ms",
                detail=f"median of {runs}, range {d['dataMinMs']:.0f}-{d['dataMaxMs']:.0f} ms (one warm-up run "
                f"left out); signed in (shell) {d['signedInMs']:.0f} ms, live power {d['livePowerMs']:.0f} ms, "
                f"prices {d['pricesMs']:.0f} ms; Chromium, the whole devstack, fresh context per run",
            )
        )
    return figures


if __name__ == "__main__":
    print(json.dumps([f.__dict__ for f in run(quick=True)], indent=2))
