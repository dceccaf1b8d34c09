"""AlertService handlers (thin: validation in rules/channels, queries in the store).

The access rule of every household RPC is in the contract (household_field: a user acts only on
the households in their token; common.auth.interceptor enforces it before a handler runs). Rules,
subscriptions and alerts are always looked up with the household id as well, so an id of another
household's rule is NOT_FOUND, never someone else's row.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable

import grpc

from alert_svc.channels import alert_message, new_subscription, subscription_message
from alert_svc.evaluator import Evaluator
from alert_svc.rules import rule_message, storage_json, validated
from alert_svc.signals import AlertSignals
from alert_svc.store import AlertStore, RuleRow
from alert_svc.targets import TargetPolicy
from common.drain import Drain
from common.errors import InvalidArgument, NotFound, ResourceExhausted
from common.paging import Pager
from energypulse.alert.v1 import alert_service_pb2 as pb
from energypulse.alert.v1 import alert_service_pb2_grpc
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["AlertServicer"]

_ALERT_ID = re.compile(r"[0-9]{1,18}")


def _household(household_id: str) -> str:
    if not 1 <= len(household_id) <= 64:
        raise InvalidArgument(reasons.INVALID_HOUSEHOLD_ID, "household_id must be 1-64 characters")
    return household_id


_ALERT_PAGES = Pager("energypulse.alert.v1.AlertService/ListAlerts", default_size=50, max_size=200)


class AlertServicer(alert_service_pb2_grpc.AlertServiceServicer):
    def __init__(
        self,
        store: AlertStore,
        evaluator: Evaluator,
        kek: bytes,
        policy: TargetPolicy,
        *,
        max_rules: int,
        max_subscriptions: int,
        signals: AlertSignals,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.evaluator, self.kek, self.policy = store, evaluator, kek, policy
        self.max_rules, self.max_subscriptions, self.signals = max_rules, max_subscriptions, signals
        self.clock = clock
        self.drain = Drain()  # closed at shutdown: the watches end (common/drain.py)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def CreateAlertRule(
        self,
        request: pb.CreateAlertRuleRequest,
        context: grpc.aio.ServicerContext[pb.CreateAlertRuleRequest, pb.CreateAlertRuleResponse],
    ) -> pb.CreateAlertRuleResponse:
        v = validated(request.rule, self.evaluator.book.currency)
        row = RuleRow(
            rule_id=secrets.token_hex(8),
            household_id=_household(request.household_id),
            kind=v.kind,
            condition_json=storage_json(v.condition),
            display_name=v.display_name,
            create_ms=self._now_ms(),
        )
        if not await asyncio.to_thread(self.store.add_rule, row, self.max_rules):
            raise ResourceExhausted(
                reasons.ALERT_LIMIT_REACHED, f"a household has at most {self.max_rules} alert rules"
            )
        return pb.CreateAlertRuleResponse(rule=rule_message(row))

    async def ListAlertRules(
        self,
        request: pb.ListAlertRulesRequest,
        context: grpc.aio.ServicerContext[pb.ListAlertRulesRequest, pb.ListAlertRulesResponse],
    ) -> pb.ListAlertRulesResponse:
        rows = await asyncio.to_thread(self.store.rules, request.household_id)
        return pb.ListAlertRulesResponse(
            rules=[rule_message(r) for r in rows], currency=self.evaluator.book.currency
        )

    async def DeleteAlertRule(
        self,
        request: pb.DeleteAlertRuleRequest,
        context: grpc.aio.ServicerContext[pb.DeleteAlertRuleRequest, pb.DeleteAlertRuleResponse],
    ) -> pb.DeleteAlertRuleResponse:
        if not await asyncio.to_thread(self.store.delete_rule, request.household_id, request.rule_id):
            raise NotFound(
                reasons.ALERT_RULE_NOT_FOUND, f"no alert rule {request.rule_id!r} in this household"
            )
        return pb.DeleteAlertRuleResponse()

    async def CreateSubscription(
        self,
        request: pb.CreateSubscriptionRequest,
        context: grpc.aio.ServicerContext[pb.CreateSubscriptionRequest, pb.CreateSubscriptionResponse],
    ) -> pb.CreateSubscriptionResponse:
        # Resolving the target's name is blocking I/O: in a thread, like the database.
        row, secret = await asyncio.to_thread(
            new_subscription,
            _household(request.household_id),
            request.subscription,
            self.kek,
            self.policy,
            self._now_ms(),
        )
        if not await asyncio.to_thread(self.store.add_subscription, row, self.max_subscriptions):
            raise ResourceExhausted(
                reasons.ALERT_LIMIT_REACHED, f"a household has at most {self.max_subscriptions} subscriptions"
            )
        return pb.CreateSubscriptionResponse(subscription=subscription_message(row), signing_secret=secret)

    async def ListSubscriptions(
        self,
        request: pb.ListSubscriptionsRequest,
        context: grpc.aio.ServicerContext[pb.ListSubscriptionsRequest, pb.ListSubscriptionsResponse],
    ) -> pb.ListSubscriptionsResponse:
        rows = await asyncio.to_thread(self.store.subscriptions, request.household_id)
        return pb.ListSubscriptionsResponse(subscriptions=[subscription_message(r) for r in rows])

    async def DeleteSubscription(
        self,
        request: pb.DeleteSubscriptionRequest,
        context: grpc.aio.ServicerContext[pb.DeleteSubscriptionRequest, pb.DeleteSubscriptionResponse],
    ) -> pb.DeleteSubscriptionResponse:
        if not await asyncio.to_thread(
            self.store.delete_subscription, request.household_id, request.subscription_id
        ):
            raise NotFound(
                reasons.ALERT_SUBSCRIPTION_NOT_FOUND,
                f"no subscription {request.subscription_id!r} in this household",
            )
        return pb.DeleteSubscriptionResponse()

    async def ListAlerts(
        self,
        request: pb.ListAlertsRequest,
        context: grpc.aio.ServicerContext[pb.ListAlertsRequest, pb.ListAlertsResponse],
    ) -> pb.ListAlertsResponse:
        query = (request.household_id, int(request.unread_only))
        size = _ALERT_PAGES.size(request.page_size)
        before = _ALERT_PAGES.decode_int(request.page_token, query)
        rows = await asyncio.to_thread(
            self.store.alerts, request.household_id, before, size + 1, request.unread_only
        )
        page, more = rows[:size], len(rows) > size
        unread = await asyncio.to_thread(self.store.unread_count, request.household_id)
        return pb.ListAlertsResponse(
            alerts=[alert_message(r, self.evaluator.book.currency) for r in page],
            next_page_token=_ALERT_PAGES.encode(page[-1].id, query) if more else "",
            unread_count=unread,
        )

    async def AcknowledgeAlerts(
        self,
        request: pb.AcknowledgeAlertsRequest,
        context: grpc.aio.ServicerContext[pb.AcknowledgeAlertsRequest, pb.AcknowledgeAlertsResponse],
    ) -> pb.AcknowledgeAlertsResponse:
        ids: list[int] | None = None
        if request.alert_ids:
            if not all(_ALERT_ID.fullmatch(a) for a in request.alert_ids):
                raise NotFound(reasons.ALERT_NOT_FOUND, "alert ids are the numbers ListAlerts returns")
            ids = sorted({int(a) for a in request.alert_ids})
            known = await asyncio.to_thread(self.store.known_ids, request.household_id, ids)
            missing = [str(i) for i in ids if i not in known]
            if missing:
                raise NotFound(
                    reasons.ALERT_NOT_FOUND, f"no alert {', '.join(missing[:5])} in this household"
                )
        await asyncio.to_thread(self.store.acknowledge, request.household_id, ids, self._now_ms())
        self.signals.signal(request.household_id)
        return pb.AcknowledgeAlertsResponse(
            unread_count=await asyncio.to_thread(self.store.unread_count, request.household_id)
        )

    async def WatchAlerts(
        self,
        request: pb.WatchAlertsRequest,
        context: grpc.aio.ServicerContext[pb.WatchAlertsRequest, pb.WatchAlertsResponse],
    ) -> AsyncIterator[pb.WatchAlertsResponse]:
        # Woken by a new or read alert of the household (this replica's, or another's through
        # PostgreSQL NOTIFY); otherwise a look every poll (SQLite) or fallback interval
        # (alert_svc/signals.py).
        hh = request.household_id
        with self.signals.watch(hh) as changed:
            last = await asyncio.to_thread(self.store.newest_id, hh)
            unread = await asyncio.to_thread(self.store.unread_count, hh)
            yield pb.WatchAlertsResponse(unread_count=unread)
            while True:
                if await self.drain.until(self.signals.wait(changed)):
                    return
                newest = await asyncio.to_thread(self.store.newest_id, hh)
                fresh = [
                    r for r in await asyncio.to_thread(self.store.pushed_after, hh, last) if r.id <= newest
                ]
                count = await asyncio.to_thread(self.store.unread_count, hh)
                for row in fresh:
                    yield pb.WatchAlertsResponse(
                        alert=alert_message(row, self.evaluator.book.currency), unread_count=count
                    )
                if not fresh and count != unread:  # read elsewhere (another tab, the phone)
                    yield pb.WatchAlertsResponse(unread_count=count)
                last = max(last, newest)  # rate-limited alerts are listed, not pushed
                unread = count

    async def EvaluateAlerts(
        self,
        request: pb.EvaluateAlertsRequest,
        context: grpc.aio.ServicerContext[pb.EvaluateAlertsRequest, pb.EvaluateAlertsResponse],
    ) -> pb.EvaluateAlertsResponse:
        households, raised = await self.evaluator.run_round(request.household_id)
        return pb.EvaluateAlertsResponse(households=households, raised=raised)
