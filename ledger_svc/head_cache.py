"""The signed head every GetSignedHead caller shares: one signing at a time, refreshed ahead of expiry.

Why: GetSignedHead is the hottest read (dashboards and verifiers poll it). A fresh head costs a
thread hop, a database round trip and an Ed25519 signature, so a recent one is reused for
``max_age_ms`` (Ledger.recent_head). Before this cache, the moment that head expired every call in
flight missed together and each signed its own: at ~2,000 calls/s that herd stalled the event loop
for 15-60 ms once per max age (periodic p99 episodes in bench/bench_edge.py). Now callers that miss
share one signing, and a head past half its max age is re-signed in the background while callers
keep getting it, so under steady load no call waits for a signature.

Freshness is unchanged: a head served is at most ``max_age_ms`` old and, after an append through
this replica, covers that append (a caller whose tree grew while a signing was in flight waits for
the next one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from common.log import get_logger
from ledger_svc.ledger import Ledger
from ledger_svc.signing import SignedTreeHead

__all__ = ["SharedHead"]

log = get_logger(__name__)

RunInThread = Callable[[Callable[[], SignedTreeHead]], Awaitable[SignedTreeHead]]


class SharedHead:
    """``get()`` returns a signed head no older than ``max_age_ms`` (``<= 0``: signs on every call).

    Used from the server's event loop only; ``run`` moves the signing off it.
    """

    def __init__(self, ledger: Ledger, max_age_ms: int, run: RunInThread) -> None:
        self._ledger = ledger
        self._max_age_ms = max_age_ms
        self._run = run
        self._signing: asyncio.Future[SignedTreeHead] | None = None

    async def get(self) -> SignedTreeHead:
        if self._max_age_ms <= 0:
            return await self._run(self._ledger.signed_head)
        head = self._ledger.recent_head(self._max_age_ms)
        if head is not None:
            if 2 * self._ledger.head_age_ms(head) > self._max_age_ms:
                self._sign()  # ahead of expiry; this caller keeps the still-valid head
            return head
        while True:
            covers = self._ledger.local_tree_size
            # shield: one caller giving up (deadline, disconnect) must not cancel the others' head.
            head = await asyncio.shield(self._sign())
            if head.head.tree_size >= covers:
                return head
            # That signing read the tree before this replica's latest append: the next one cannot.

    def _sign(self) -> asyncio.Future[SignedTreeHead]:
        if self._signing is None or self._signing.done():
            self._signing = asyncio.ensure_future(self._run(self._ledger.signed_head))
            self._signing.add_done_callback(self._signed)
        return self._signing

    def _signed(self, signing: asyncio.Future[SignedTreeHead]) -> None:
        if self._signing is signing:
            self._signing = None
        # A background refresh has no caller to tell; callers waiting on it get the error themselves.
        if not signing.cancelled() and (error := signing.exception()) is not None:
            log.warning("head_signing_failed", error=repr(error))
