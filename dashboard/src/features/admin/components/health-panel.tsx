import { useMemo, useState } from "react";

import { ChartAccess, type AccessSeries } from "@/components/charts/chart-access";
import { Badge, StatusDot, type Tone } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { SelectField } from "@/components/ui/field";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { ServiceStatus, type HealthSample, type Replica, type ServiceHealth } from "@/gen/energypulse/ops/v1/ops_service_pb";
import { fmtDateTime, fmtInteger, fmtNumber, fmtRelative, fmtTime } from "@/lib/format";
import { messages, useT, type Messages } from "@/lib/i18n";
import { tsDate } from "@/lib/proto-json";
import { useNow } from "@/lib/use-now";

import { useGridStats } from "../api/get-grid-stats";
import { useOpsHealth } from "../api/get-service-health";

const WINDOWS = [3600, 6 * 3600, 24 * 3600];
type StatusKey = keyof Messages["admin"]["health"]["status"];
// `name`: the data-status value tests and scripts read, the same in every language; the shown
// label is the catalogue's (statusLabel).
const STATUS: Record<ServiceStatus, { key: StatusKey; name: string; tone: Tone; bar: string }> = {
  [ServiceStatus.UNSPECIFIED]: { key: "unspecified", name: "Not probed yet", tone: "neutral", bar: "bg-slate-300" },
  [ServiceStatus.SERVING]: { key: "serving", name: "Serving", tone: "good", bar: "bg-emerald-500" },
  [ServiceStatus.DEGRADED]: { key: "degraded", name: "Degraded", tone: "warn", bar: "bg-amber-500" },
  [ServiceStatus.DOWN]: { key: "down", name: "Down", tone: "bad", bar: "bg-rose-600" },
};

function statusLabel(status: ServiceStatus): string {
  return messages().admin.health.status[STATUS[status].key];
}

/** "3 d 4 h", "5 h 12 min", "42 s": how long something has lasted. */
function fmtDuration(seconds: number): string {
  const d = messages().admin.health.duration;
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return d.s(s);
  const m = Math.floor(s / 60);
  if (m < 60) return d.min(m);
  const h = Math.floor(m / 60);
  if (h < 24) return d.hMin(h, m % 60);
  return d.dH(Math.floor(h / 24), h % 24);
}

function label(service: string): string {
  return messages().admin.health.services[service] ?? service;
}

/** The window's status as a strip of buckets; the incidents list below says the same in words. */
function StatusStrip({ samples, service, active }: { samples: HealthSample[]; service: string; active: number | undefined }) {
  const t = useT().admin.health;
  if (samples.length === 0) return <p className="text-xs text-slate-600">{t.noProbes}</p>;
  return (
    <div className="flex h-6 items-stretch gap-px overflow-hidden rounded" role="img" aria-label={t.statusHistory(label(service), summarize(samples))}>
      {samples.map((s, i) => (
        <span
          key={String(s.startTime?.seconds)}
          className={`min-w-px flex-1 ${STATUS[s.status].bar} ${i === active ? "outline-2 -outline-offset-2 outline-slate-900" : ""}`}
          title={`${fmtTime(tsDate(s.startTime))}: ${t.status[STATUS[s.status].key]}`}
        />
      ))}
    </div>
  );
}

function summarize(samples: HealthSample[]): string {
  const bad = samples.filter((s) => s.status !== ServiceStatus.SERVING).length;
  const t = messages().admin.health;
  return bad === 0 ? t.servingThroughout : t.notFullyServing(bad, samples.length);
}

/** Mean probe latency over the window; the y axis starts at zero and says so. */
function LatencyChart({ samples, service }: { samples: HealthSample[]; service: string }) {
  const t = useT().admin.health;
  const points = samples.filter((s) => s.replicasServing > 0);
  if (points.length < 2) return null;
  const max = Math.max(...points.map((s) => s.latencyMs), 1);
  const top = Math.ceil(max / 5) * 5;
  const t0 = Number(samples[0]?.startTime?.seconds ?? 0n);
  const t1 = Math.max(Number(samples[samples.length - 1]?.startTime?.seconds ?? 0n), t0 + 1);
  const path = points.map((s) => `${((Number(s.startTime?.seconds ?? 0n) - t0) / (t1 - t0)) * 100},${40 - (s.latencyMs / top) * 40}`).join(" ");
  return (
    <figure className="mt-3">
      <div className="flex gap-1 text-[11px] text-slate-600">
        <div className="flex w-10 flex-col justify-between text-right tabular-nums" aria-hidden>
          <span>{top} ms</span>
          <span>0 ms</span>
        </div>
        <svg viewBox="0 0 100 40" preserveAspectRatio="none" className="h-12 flex-1 border-b border-l border-slate-300" role="img" aria-label={t.latencyChart(label(service), top)}>
          <polyline points={path} fill="none" stroke="currentColor" strokeWidth="1.5" vectorEffect="non-scaling-stroke" className="text-brand-700" />
        </svg>
      </div>
      <figcaption className="mt-1 text-[11px] text-slate-600">{t.latencyCaption}</figcaption>
    </figure>
  );
}

function historyX(t: Messages["admin"]["health"]): AccessSeries {
  return { label: t.periodFrom, format: (v) => fmtDateTime(new Date(v * 1000)) };
}

function historySeries(t: Messages["admin"]["health"]): readonly AccessSeries[] {
  return [
    // The status series carries the enum's numbers; a number it does not know reads "unknown".
    { label: t.statusSeries, format: (v) => { const s = Object.entries(STATUS).find(([k]) => Number(k) === v)?.[1]; return s ? t.status[s.key] : t.unknown; } },
    { label: t.latencySeries, format: (v) => `${fmtNumber(v, 1)} ms` },
  ];
}

/**
 * The status strip and the latency line as one chart for the keyboard and screen readers (the
 * same ChartAccess as the uPlot charts): arrow keys read each period's status and latency, and
 * "Show as table" lists them. Latency is empty where no replica served (as the line skips it).
 */
function HistoryCharts({ samples, service }: { samples: HealthSample[]; service: string }) {
  const t = useT().admin.health;
  const [active, setActive] = useState<number | undefined>(undefined);
  const data = useMemo(
    () => [
      samples.map((s) => Number(s.startTime?.seconds ?? 0n)),
      samples.map((s) => s.status as number),
      samples.map((s) => (s.replicasServing > 0 ? s.latencyMs : null)),
    ],
    [samples],
  );
  if (samples.length === 0) return <StatusStrip samples={samples} service={service} active={undefined} />;
  return (
    <ChartAccess label={t.historyChart(label(service))} x={historyX(t)} series={historySeries(t)} data={data} onActive={setActive}>
      <StatusStrip samples={samples} service={service} active={active} />
      <LatencyChart samples={samples} service={service} />
    </ChartAccess>
  );
}

function ReplicaRow({ replica, now }: { replica: Replica; now: number }) {
  const t = useT().admin.health;
  const started = tsDate(replica.startTime);
  return (
    <li className="rounded-lg bg-slate-50 px-3 py-2 text-xs" data-testid="replica">
      <div className="flex items-center justify-between gap-2">
        <span className="font-mono text-slate-800">{replica.endpoint}</span>
        <Badge tone={replica.serving ? "good" : "bad"}>{replica.serving ? t.status.serving : t.failing}</Badge>
      </div>
      <dl className="mt-1 grid grid-cols-3 gap-2 text-slate-600">
        <div>
          <dt className="sr-only">{t.version}</dt>
          <dd>v{replica.version || "?"}</dd>
        </div>
        <div>
          <dt className="sr-only">{t.uptime}</dt>
          <dd>{started ? t.up(fmtDuration((now - started.getTime()) / 1000)) : t.uptimeUnknown}</dd>
        </div>
        <div>
          <dt className="sr-only">{t.latency}</dt>
          <dd className="tabular-nums">{fmtNumber(replica.latencyMs, 1)} ms</dd>
        </div>
      </dl>
      {replica.error && <p className="mt-1 break-words text-rose-700">{replica.error}</p>}
    </li>
  );
}

function ServiceCard({ health, now }: { health: ServiceHealth; now: number }) {
  const t = useT().admin.health;
  const status = STATUS[health.status];
  const shown = t.status[status.key];
  const serving = health.replicas.filter((r) => r.serving).length;
  const incidents = health.history.filter((s) => s.status !== ServiceStatus.SERVING);
  const since = tsDate(health.statusSinceTime);
  return (
    <Card className="p-5" data-testid={`health-${health.service}`} data-ok={String(health.status === ServiceStatus.SERVING)} data-status={status.name}>
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-sm font-semibold text-slate-900">{label(health.service)}</h2>
        <Badge tone={status.tone}>
          <StatusDot tone={status.tone} />
          {shown}
        </Badge>
      </div>
      <p className="mt-1 break-all font-mono text-xs text-slate-600">{health.grpcService}</p>
      <dl className="mt-3 grid grid-cols-3 gap-2 text-sm">
        <div>
          <dt className="text-xs text-slate-600">{t.replicas}</dt>
          <dd className="font-semibold tabular-nums" data-testid="replica-count">
            {t.ofReplicas(serving, health.replicas.length)}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-600">{t.availability}</dt>
          <dd className="font-semibold tabular-nums">{fmtNumber(health.availability * 100, 1)} %</dd>
        </div>
        <div>
          <dt className="text-xs text-slate-600">{t.statusFor(shown)}</dt>
          <dd className="font-semibold tabular-nums">{since ? fmtDuration((now - since.getTime()) / 1000) : "—"}</dd>
        </div>
      </dl>
      <div className="mt-3">
        <HistoryCharts samples={health.history} service={health.service} />
      </div>
      <ul className="mt-3 space-y-2" aria-label={t.replicasOf(label(health.service))}>
        {health.replicas.map((r) => (
          <ReplicaRow key={r.endpoint} replica={r} now={now} />
        ))}
      </ul>
      {incidents.length > 0 && (
        <details className="mt-3 text-xs">
          <summary className="cursor-pointer text-slate-700">
            {t.periodsNotServing(incidents.length)}
          </summary>
          <ul className="mt-1 space-y-0.5 text-slate-600">
            {incidents.slice(-20).map((s) => (
              <li key={String(s.startTime?.seconds)}>
                {t.incident(fmtDateTime(tsDate(s.startTime)), statusLabel(s.status), s.replicasServing, s.replicasTotal)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </Card>
  );
}

export function HealthPanel() {
  const t = useT().admin.health;
  const [windowSeconds, setWindowSeconds] = useState(24 * 3600);
  const health = useOpsHealth(windowSeconds);
  const grid = useGridStats();
  const now = useNow(10_000).getTime();
  const services = health.data?.services ?? [];
  const alerts = services.filter((s) => s.alert);
  const up = services.filter((s) => s.status === ServiceStatus.SERVING).length;
  return (
    <div className="space-y-4">
      {alerts.length > 0 && (
        <div role="alert" data-testid="health-alerts" className="rounded-lg bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-rose-200">
          <p className="font-semibold">
            {t.needAttention(alerts.length)}
          </p>
          <ul className="mt-1 list-disc pl-5">
            {alerts.map((s) => (
              <li key={s.service}>
                {t.hasBeen(label(s.service), statusLabel(s.alert?.status ?? s.status), fmtTime(tsDate(s.alert?.sinceTime)), fmtRelative(tsDate(s.alert?.sinceTime), now))}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="flex flex-wrap items-end justify-between gap-3">
        <p className="text-sm text-slate-600" aria-live="polite">
          {health.isPending
            ? t.reading
            : health.data
              ? t.summary(up, services.length, health.data.probeIntervalSeconds, health.data.alertAfterSeconds, fmtDateTime(tsDate(health.data.monitorStartTime)))
              : ""}
        </p>
        <SelectField label={t.history} value={windowSeconds} onChange={(e) => setWindowSeconds(Number(e.target.value))} className="w-44">
          {WINDOWS.map((w) => (
            <option key={w} value={w}>
              {t.windows[w]}
            </option>
          ))}
        </SelectField>
      </div>
      {health.error ? (
        <ErrorState error={health.error} onRetry={() => void health.refetch()} />
      ) : (
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4">
          {health.isPending
            ? [0, 1, 2, 3].map((i) => <Skeleton key={i} className="h-64" />)
            : services.map((s) => <ServiceCard key={s.service} health={s} now={now} />)}
        </div>
      )}
      {grid.data && (
        <Card className="p-5">
          <h2 className="text-sm font-semibold text-slate-900">{t.ingest}</h2>
          <dl className="mt-3 grid grid-cols-2 gap-4 sm:grid-cols-4">
            <div>
              <dt className="text-xs text-slate-500">{t.metersOnline}</dt>
              <dd className="text-xl font-semibold tabular-nums">{grid.data.aggregate?.metersOnline ?? 0}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">{t.offline}</dt>
              <dd className="text-xl font-semibold tabular-nums">{grid.data.aggregate?.metersOffline ?? 0}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">{t.readingsStored}</dt>
              <dd className="text-xl font-semibold tabular-nums">{fmtInteger(grid.data.readingsStored)}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">{t.deadLetters}</dt>
              <dd className="text-xl font-semibold tabular-nums">{grid.data.deadLettersTotal.toString()}</dd>
            </div>
          </dl>
        </Card>
      )}
    </div>
  );
}
