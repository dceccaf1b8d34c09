/** The header's bell: the unread badge (live) and, opened, the household's latest alerts. */
import { useEffect, useRef, useState } from "react";

import { Button } from "@/components/ui/button";
import { AlertKind, type Alert } from "@/gen/energypulse/alert/v1/alert_pb";
import { cn } from "@/lib/cn";
import { fmtDateTime, fmtDecimal, fmtInteger, fmtMicroPerKwh, fmtMoney, fmtPercent, fmtTime, fmtWeekday } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { messages, useT, type Messages } from "@/lib/i18n";

import { useAcknowledgeAlerts } from "../api/acknowledge-alerts";
import { useAlerts } from "../api/list-alerts";
import { useAlertStream } from "../api/use-alert-stream";

const KIND_KEY: Record<number, "spike" | "cheap" | "capacity" | "meter"> = {
  [AlertKind.PRICE_SPIKE]: "spike",
  [AlertKind.CHEAP_WINDOW]: "cheap",
  [AlertKind.CAPACITY_STEP]: "capacity",
  [AlertKind.METER_SILENT]: "meter",
};

/** "Fri 17:00–19:00": an alert's span of periods (the display zone, as every time on the page). */
function span(start: Date | undefined, end: Date | undefined): string {
  return `${fmtWeekday(start)} ${fmtTime(start)}–${fmtTime(end)}`;
}

/**
 * An alert's title and text in the page's language, from its typed figures (Alert.facts, the
 * same ones alert_svc's English sentences state); alert_svc's English title and message (what the
 * webhooks and MQTT deliver) only for an alert without them (raised before they existed).
 */
export function alertWords(a: Alert, t: Messages["notifications"]): { title: string; message: string } {
  const since = tsDate(a.periodStartTime);
  const until = tsDate(a.periodEndTime);
  const server = { title: a.title, message: a.message };
  if (a.kind === AlertKind.METER_SILENT) {
    return since && a.value > 0 ? { title: t.meterSilent.title(fmtInteger(Math.round(a.value))), message: t.meterSilent.message(fmtDateTime(since)) } : server;
  }
  const f = a.facts;
  if (!f || !a.currency) return server;
  if (a.kind === AlertKind.PRICE_SPIKE && a.spotMicroPerKwh !== 0n) {
    const threshold = f.thresholdMicroPerKwh !== 0n ? fmtMicroPerKwh(f.thresholdMicroPerKwh, a.currency) : `${fmtDecimal(f.thresholdEurMwh, 0, 1)} EUR/MWh`;
    const top = fmtMicroPerKwh(a.spotMicroPerKwh, a.currency);
    return {
      title: t.spike.title(threshold, span(since, until)),
      message: f.published ? t.spike.published(top) : t.spike.chance(fmtPercent(f.chance), threshold, top),
    };
  }
  if (a.kind === AlertKind.CHEAP_WINDOW && f.durationMinutes > 0 && a.spotMicroPerKwh !== 0n) {
    const mean = fmtMicroPerKwh(a.spotMicroPerKwh, a.currency);
    let message = f.published ? t.cheap.published(mean) : t.cheap.likely(mean, fmtMicroPerKwh(f.lowSpotMicroPerKwh, a.currency), fmtMicroPerKwh(f.highSpotMicroPerKwh, a.currency));
    if (f.twinStartTime) message += ` ${t.cheap.twin(span(tsDate(f.twinStartTime), tsDate(f.twinEndTime)), fmtMicroPerKwh(f.twinSpotMicroPerKwh, a.currency))}`;
    return { title: t.cheap.title(fmtDecimal(f.durationMinutes / 60, 0, 2), span(since, until)), message };
  }
  if (a.kind === AlertKind.CAPACITY_STEP && f.stepKw > 0) {
    const basis = `${fmtDecimal(a.value, 1, 1)} kW`;
    const step = `${fmtDecimal(f.stepKw, 0, 1)} kW`;
    return {
      title: t.capacity.title(basis, fmtPercent(a.value / f.stepKw), step),
      message: t.capacity.message(`${fmtDecimal(a.value, 2, 2)} kW`, step, fmtMoney(Number(f.stepMonthlyNano) / 1e9, a.currency, 0)),
    };
  }
  return server;
}

const BellIcon = () => (
  <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round" className="size-5" aria-hidden="true">
    <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
    <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
  </svg>
);

export function NotificationCenter({ householdId }: { householdId: string }) {
  const t = useT().notifications;
  const stream = useAlertStream(householdId);
  const [open, setOpen] = useState(false);
  const alerts = useAlerts(householdId, open);
  const acknowledge = useAcknowledgeAlerts(householdId);
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  const unread = stream.unread;
  const label = unread ? t.unread(unread) : t.label;
  return (
    <div className="relative">
      <Button variant="ghost" size="sm" aria-label={label} aria-expanded={open} aria-controls="notification-center" onClick={() => setOpen((o) => !o)} data-testid="notification-bell">
        <BellIcon />
        {unread > 0 && (
          <span data-testid="notification-badge" className="absolute -top-0.5 -right-0.5 min-w-5 rounded-full bg-red-700 px-1 text-center text-xs font-semibold leading-5 text-white">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </Button>
      <p className="sr-only" aria-live="polite">
        {stream.latest ? t.newAlert(alertWords(stream.latest, t).title) : ""}
      </p>
      {open && (
        <div
          id="notification-center"
          ref={panel}
          role="region"
          aria-label={t.label}
          className="fixed inset-x-4 top-16 z-40 rounded-lg border border-slate-200 bg-white shadow-lg sm:absolute sm:inset-x-auto sm:top-full sm:right-0 sm:mt-2 sm:w-[22rem]"
        >
          <div className="flex items-center justify-between border-b border-slate-200 px-4 py-2">
            <h2 className="text-sm font-semibold text-slate-900">{t.alerts}</h2>
            <Button variant="ghost" size="sm" disabled={!unread || acknowledge.isPending} onClick={() => acknowledge.mutate(undefined)}>
              {t.markAll}
            </Button>
          </div>
          <ul className="max-h-96 divide-y divide-slate-100 overflow-y-auto" data-testid="notification-list">
            {alerts.isPending && <li className="px-4 py-3 text-sm text-slate-600">{messages().common.loading}</li>}
            {alerts.isError && <li className="px-4 py-3 text-sm text-red-700">{t.failed}</li>}
            {alerts.data?.alerts.length === 0 && (
              <li className="px-4 py-3 text-sm text-slate-600">{t.none}</li>
            )}
            {alerts.data?.alerts.map((a) => (
              <li key={a.alertId} className={cn("px-4 py-3", !a.read && "bg-brand-50")}>
                <p className="text-xs font-medium text-slate-600">
                  {t.kinds[KIND_KEY[a.kind] ?? "alert"]} · {fmtDateTime(tsDate(a.createTime))}
                </p>
                <p className="text-sm font-medium text-slate-900">{alertWords(a, t).title}</p>
                <p className="text-sm text-slate-700">{alertWords(a, t).message}</p>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
