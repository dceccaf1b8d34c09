"""Waking WatchAlerts streams when a household's alerts change, instead of every stream looking at
the database every second.

* In the process: the evaluator (after raising) and AcknowledgeAlerts ``signal`` the household.
* Across replicas (PostgreSQL): the store's ``pg_notify`` on ``NOTIFY_CHANNEL`` (sent at commit,
  so the rows are visible before anyone hears it) reaches one LISTEN connection per replica, a
  thread (``listen_forever``), which signals the same way.
* A stream looks at the database when woken and, as a safety net, every ``fallback_s`` while the
  LISTEN connection is up; on SQLite (several processes have no cheap signal to share) and while
  the connection is down, every ``poll_s``. Reconnecting wakes every stream once (a NOTIFY may
  have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from sqlalchemy.engine import make_url

from alert_svc.store import NOTIFY_CHANNEL
from common.log import get_logger

__all__ = ["AlertSignals", "listen_forever"]

log = get_logger(__name__)


class AlertSignals:
    def __init__(self, poll_s: float, fallback_s: float) -> None:
        self.poll_s, self.fallback_s = poll_s, fallback_s
        self.listening = False  # a LISTEN connection is up (set by its thread)
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @contextlib.contextmanager
    def watch(self, household_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever the household's alerts may have changed (while in the block)."""
        self._loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._waiters.setdefault(household_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(household_id, set())
            waiters.discard(event)
            if not waiters:
                self._waiters.pop(household_id, None)

    async def wait(self, event: asyncio.Event) -> None:
        """Until signalled or the next look is due; then cleared (look at the database after)."""
        timeout = self.fallback_s if self.listening else self.poll_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    def signal(self, household_id: str) -> None:
        """Wake the household's streams (on the event loop's thread)."""
        for event in self._waiters.get(household_id, ()):
            event.set()

    def signal_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    def signal_threadsafe(self, household_id: str | None) -> None:
        """From another thread; ``None`` wakes every stream."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            if household_id is None:
                loop.call_soon_threadsafe(self.signal_all)
            else:
                loop.call_soon_threadsafe(self.signal, household_id)


def _listen(signals: AlertSignals, dsn: str, stop: threading.Event, retry_s: float) -> None:
    import psycopg

    while not stop.is_set():
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                signals.listening = True
                signals.signal_threadsafe(None)
                log.info("alert_listen_connected")
                while not stop.is_set():
                    for notify in conn.notifies(timeout=1.0):
                        signals.signal_threadsafe(notify.payload)
        except psycopg.Error as exc:
            log.warning("alert_listen_failed", error=str(exc)[:200])
        finally:
            signals.listening = False
        stop.wait(retry_s)


async def listen_forever(signals: AlertSignals, database_url: str, retry_s: float = 2.0) -> None:
    """LISTEN for the store's notifications until cancelled (PostgreSQL URLs only)."""
    signals.bind(asyncio.get_running_loop())
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    stop = threading.Event()
    try:
        await asyncio.to_thread(_listen, signals, dsn, stop, retry_s)
    finally:
        stop.set()
