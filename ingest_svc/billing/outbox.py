"""Transactional outbox: calls owed to other services, written with the state that caused them.

* Rows are inserted in the same transaction as the state change that produced them (a settled
  hour priced, a forecast recorded), so a crash can never keep one without the other.
* ``request_id`` is unique: enqueuing the same logical call twice is a no-op.
* Senders *claim* a page with a lease (``claimed_until_ms``) in one UPDATE; on PostgreSQL the
  candidate rows are selected ``FOR UPDATE SKIP LOCKED`` so replicas never wait on each other or
  take the same rows. A sender that dies leaves its lease to expire; the rows are then claimed
  again. Ledger appends are idempotent by ``request_id`` (the ledger returns the original
  receipts), so even a row sent twice - lease expired while the first send was still in flight -
  appends once.
* Memory is bounded by the page size: rows are never loaded all at once.
* Failures back off exponentially per row (with jitter); rows the receiver rejects as invalid are
  parked as ``failed`` with the error, for an operator, instead of being retried forever.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.engine import Connection, Engine

from ingest_svc.billing.bridge_store import OutboxRow
from ingest_svc.db import insert_ignore

__all__ = ["LEDGER_APPEND", "Outbox", "OutboxItem", "enqueue"]

LEDGER_APPEND = "ledger.append"  # an AppendRecordsRequest for the ledger

_TABLE = cast(Table, OutboxRow.__table__)
_T = _TABLE.c


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    request_id: str
    payload: bytes
    attempts: int


def enqueue(conn: Connection, kind: str, request_id: str, payload: bytes, now_ms: int) -> bool:
    """Add a call inside the caller's transaction; False when ``request_id`` is already queued."""
    stmt = insert_ignore(conn, OutboxRow).values(
        kind=kind,
        request_id=request_id,
        payload=payload,
        attempts=0,
        next_attempt_ms=now_ms,
        created_ms=now_ms,
        last_error="",
        status="pending",
        claimed_until_ms=0,
    )
    return bool(conn.execute(stmt).rowcount)


def enqueue_many(conn: Connection, kind: str, calls: Sequence[tuple[str, bytes]], now_ms: int) -> None:
    """:func:`enqueue` for several ``(request_id, payload)`` calls in one statement (in order); a
    request id already queued is skipped."""
    if not calls:
        return
    conn.execute(
        insert_ignore(conn, OutboxRow),
        [
            {
                "kind": kind,
                "request_id": request_id,
                "payload": payload,
                "attempts": 0,
                "next_attempt_ms": now_ms,
                "created_ms": now_ms,
                "last_error": "",
                "status": "pending",
                "claimed_until_ms": 0,
            }
            for request_id, payload in calls
        ],
    )


class Outbox:
    def __init__(
        self,
        engine: Engine,
        lease_ms: int = 30_000,
        backoff_base_ms: int = 500,
        backoff_max_ms: int = 60_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.lease_ms = lease_ms
        self.backoff_base_ms = backoff_base_ms
        self.backoff_max_ms = backoff_max_ms
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock() * 1000)

    def claim(self, limit: int) -> list[OutboxItem]:
        """Lease up to ``limit`` due rows to this sender (oldest due first)."""
        now = self._now()
        with self.engine.begin() as conn:
            candidates = (
                select(_T.id)
                .where(_T.status == "pending", _T.next_attempt_ms <= now, _T.claimed_until_ms < now)
                .order_by(_T.next_attempt_ms, _T.id)
                .limit(limit)
            )
            if conn.dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            rows = conn.execute(
                update(_TABLE)
                .where(_T.id.in_(candidates.scalar_subquery()))
                .values(claimed_until_ms=now + self.lease_ms)
                .returning(_T.id, _T.kind, _T.request_id, _T.payload, _T.attempts)
            ).all()
        return sorted(
            (OutboxItem(r.id, r.kind, r.request_id, bytes(r.payload), r.attempts) for r in rows),
            key=lambda i: i.id,
        )

    def mark_sent(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(_TABLE)
                .where(_T.id.in_(list(ids)), _T.status == "pending")
                .values(status="sent", sent_ms=self._now(), claimed_until_ms=0)
            )

    def delay_ms(self, attempts: int) -> int:
        """Exponential backoff with +-20 % jitter so replicas do not retry in lockstep."""
        base = min(self.backoff_max_ms, self.backoff_base_ms * 2 ** min(attempts, 30))
        return int(base * random.uniform(0.8, 1.2))

    def retry_later(self, failures: Sequence[tuple[OutboxItem, str]]) -> None:
        if not failures:
            return
        now = self._now()
        with self.engine.begin() as conn:
            for item, error in failures:
                conn.execute(
                    update(_TABLE)
                    .where(_T.id == item.id, _T.status == "pending")
                    .values(
                        attempts=item.attempts + 1,
                        next_attempt_ms=now + self.delay_ms(item.attempts),
                        claimed_until_ms=0,
                        last_error=error[:512],
                    )
                )

    def park_failed(self, failures: Sequence[tuple[OutboxItem, str]]) -> None:
        if not failures:
            return
        with self.engine.begin() as conn:
            for item, error in failures:
                conn.execute(
                    update(_TABLE)
                    .where(_T.id == item.id)
                    .values(
                        status="failed",
                        attempts=item.attempts + 1,
                        claimed_until_ms=0,
                        last_error=error[:512],
                    )
                )

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                str(s): int(n) for s, n in conn.execute(select(_T.status, func.count()).group_by(_T.status))
            }

    def prune_sent(self, older_than_ms: int) -> int:
        """Delete sent rows older than the retention (dedup lives in the domain tables)."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    delete(_TABLE).where(_T.status == "sent", _T.sent_ms < self._now() - older_than_ms)
                ).rowcount
            )
