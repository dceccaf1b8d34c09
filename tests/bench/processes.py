"""What is left of a process group after a benchmark stopped it."""

from __future__ import annotations

import os

import psutil


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (a killed orphan may linger as a zombie
    until init reaps it: that one no longer runs)."""
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False
