import { useMemo, useState } from "react";

import { ChartAccess, type AccessSeries } from "@/components/charts/chart-access";
import { Badge, StatusDot, type Tone } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { SelectField } from "@/components/ui/field";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { ServiceStatus, type HealthSample, type Replica, type ServiceHealth } from "@/gen/energypulse/ops/v1/ops_service_pb";
import { fmtDateTime, fmtInteger, fmtNumber, fmtRelative, fmtTime } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { useNow } from "@/lib/use-now";

import { useGridStats } from "../api/get-grid-stats";
import { useOpsHealth } from "../api/get-service-health";

const LABELS: Record<string, string> = { auth: "Auth", prediction: "Prediction", ledger: "Ledger", telemetry: "Telemetry (ingest)", alert: "Alerts", witness: "Witness" };
const WINDOWS = [
  { seconds: 3600, label: "Last hour" },
  { seconds: 6 * 3600, label: "Last 6 hours" },
  { seconds: 24 * 3600, label: "Last 24 hours" },
];
const STATUS: Record<ServiceStatus, { label: string; tone: Tone; bar: string }> = {
  [ServiceStatus.UNSPECIFIED]: { label: "Not probed yet", tone: "neutral", bar: "bg-slate-300" },
  [ServiceStatus.SERVING]: { label: "Serving", tone: "good", bar: "bg-emerald-500" },
  [ServiceStatus.DEGRADED]: { label: "Degraded", tone: "warn", bar: "bg-amber-500" },
  [ServiceStatus.DOWN]: { label: "Down", tone: "bad", bar: "bg-rose-600" },
};

/** "3 d 4 h", "5 h 12 min", "42 s": how long something has lasted. */
function fmtDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function label(service: string): string {
  return LABELS[service] ?? service;
}

/** The window's status as a strip of buckets; the incidents list below says the same in words. */
function StatusStrip({ samples, service, active }: { samples: HealthSample[]; service: string; active: number | undefined }) {
  if (samples.length === 0) return <p className="text-xs text-slate-600">No probes in this window yet.</p>;
  return (
    <div className="flex h-6 items-stretch gap-px overflow-hidden rounded" role="img" aria-label={`${label(service)} status history: ${summarize(samples)}`}>
      {samples.map((s, i) => (
        <span
          key={String(s.startTime?.seconds)}
          className={`min-w-px flex-1 ${STATUS[s.status].bar} ${i === active ? "outline-2 -outline-offset-2 outline-slate-900" : ""}`}
          title={`${fmtTime(tsDate(s.startTime))}: ${STATUS[s.status].label}`}
        />
      ))}
    </div>
  );
}

function summarize(samples: HealthSample[]): string {
  const bad = samples.filter((s) => s.status !== ServiceStatus.SERVING).length;
  return bad === 0 ? "serving throughout" : `${bad} of ${samples.length} periods not fully serving`;
}

/** Mean probe latency over the window; the y axis starts at zero and says so. */
function LatencyChart({ samples, service }: { samples: HealthSample[]; service: string }) {
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
        <svg viewBox="0 0 100 40" preserveAspectRatio="none" className="h-12 flex-1 border-b border-l border-slate-300" role="img" aria-label={`${label(service)} probe latency, 0 to ${top} ms`}>
          <polyline points={path} fill="none" stroke="currentColor" strokeWidth="1.5" vectorEffect="non-scaling-stroke" className="text-brand-700" />
        </svg>
      </div>
      <figcaption className="mt-1 text-[11px] text-slate-600">Mean probe latency (y axis from 0 ms)</figcaption>
    </figure>
  );
}

const HISTORY_X: AccessSeries = { label: "Period from", format: (v) => fmtDateTime(new Date(v * 1000)) };
const HISTORY_SERIES: readonly AccessSeries[] = [
  // The status series carries the enum's numbers; a number it does not know reads "unknown".
  { label: "Status", format: (v) => Object.entries(STATUS).find(([k]) => Number(k) === v)?.[1].label ?? "unknown" },
  { label: "Mean probe latency", format: (v) => `${fmtNumber(v, 1)} ms` },
];

/**
 * The status strip and the latency line as one chart for the keyboard and screen readers (the
 * same ChartAccess as the uPlot charts): arrow keys read each period's status and latency, and
 * "Show as table" lists them. Latency is empty where no replica served (as the line skips it).
 */
function HistoryCharts({ samples, service }: { samples: HealthSample[]; service: string }) {
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
    <ChartAccess label={`${label(service)} status and probe latency history`} x={HISTORY_X} series={HISTORY_SERIES} data={data} onActive={setActive}>
      <StatusStrip samples={samples} service={service} active={active} />
      <LatencyChart samples={samples} service={service} />
    </ChartAccess>
  );
}

function ReplicaRow({ replica, now }: { replica: Replica; now: number }) {
  const started = tsDate(replica.startTime);
  return (
    <li className="rounded-lg bg-slate-50 px-3 py-2 text-xs" data-testid="replica">
      <div className="flex items-center justify-between gap-2">
        <span className="font-mono text-slate-800">{replica.endpoint}</span>
        <Badge tone={replica.serving ? "good" : "bad"}>{replica.serving ? "Serving" : "Failing"}</Badge>
      </div>
      <dl className="mt-1 grid grid-cols-3 gap-2 text-slate-600">
        <div>
          <dt className="sr-only">Version</dt>
          <dd>v{replica.version || "?"}</dd>
        </div>
        <div>
          <dt className="sr-only">Uptime</dt>
          <dd>{started ? `up ${fmtDuration((now - started.getTime()) / 1000)}` : "uptime unknown"}</dd>
        </div>
        <div>
          <dt className="sr-only">Latency</dt>
          <dd className="tabular-nums">{fmtNumber(replica.latencyMs, 1)} ms</dd>
        </div>
      </dl>
      {replica.error && <p className="mt-1 break-words text-rose-700">{replica.error}</p>}
    </li>
  );
}

function ServiceCard({ health, now }: { health: ServiceHealth; now: number }) {
  const status = STATUS[health.status];
  const serving = health.replicas.filter((r) => r.serving).length;
  const incidents = health.history.filter((s) => s.status !== ServiceStatus.SERVING);
  const since = tsDate(health.statusSinceTime);
  return (
    <Card className="p-5" data-testid={`health-${health.service}`} data-ok={String(health.status === ServiceStatus.SERVING)} data-status={status.label}>
      <div className="flex items-center justify-between gap-2">
        <h2 className="text-sm font-semibold text-slate-900">{label(health.service)}</h2>
        <Badge tone={status.tone}>
          <StatusDot tone={status.tone} />
          {status.label}
        </Badge>
      </div>
      <p className="mt-1 break-all font-mono text-xs text-slate-600">{health.grpcService}</p>
      <dl className="mt-3 grid grid-cols-3 gap-2 text-sm">
        <div>
          <dt className="text-xs text-slate-600">Replicas</dt>
          <dd className="font-semibold tabular-nums" data-testid="replica-count">
            {serving} of {health.replicas.length}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-600">Availability</dt>
          <dd className="font-semibold tabular-nums">{fmtNumber(health.availability * 100, 1)} %</dd>
        </div>
        <div>
          <dt className="text-xs text-slate-600">{status.label} for</dt>
          <dd className="font-semibold tabular-nums">{since ? fmtDuration((now - since.getTime()) / 1000) : "—"}</dd>
        </div>
      </dl>
      <div className="mt-3">
        <HistoryCharts samples={health.history} service={health.service} />
      </div>
      <ul className="mt-3 space-y-2" aria-label={`${label(health.service)} replicas`}>
        {health.replicas.map((r) => (
          <ReplicaRow key={r.endpoint} replica={r} now={now} />
        ))}
      </ul>
      {incidents.length > 0 && (
        <details className="mt-3 text-xs">
          <summary className="cursor-pointer text-slate-700">
            {incidents.length} period{incidents.length === 1 ? "" : "s"} not fully serving
          </summary>
          <ul className="mt-1 space-y-0.5 text-slate-600">
            {incidents.slice(-20).map((s) => (
              <li key={String(s.startTime?.seconds)}>
                {fmtDateTime(tsDate(s.startTime))}: {STATUS[s.status].label}, {s.replicasServing} of {s.replicasTotal} serving
              </li>
            ))}
          </ul>
        </details>
      )}
    </Card>
  );
}

export function HealthPanel() {
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
            {alerts.length === 1 ? "1 service needs attention" : `${alerts.length} services need attention`}
          </p>
          <ul className="mt-1 list-disc pl-5">
            {alerts.map((s) => (
              <li key={s.service}>
                {label(s.service)} has been {STATUS[s.alert?.status ?? s.status].label.toLowerCase()} since {fmtTime(tsDate(s.alert?.sinceTime))} (
                {fmtRelative(tsDate(s.alert?.sinceTime), now)}).
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="flex flex-wrap items-end justify-between gap-3">
        <p className="text-sm text-slate-600" aria-live="polite">
          {health.isPending
            ? "Reading the monitor…"
            : health.data
              ? `${up} of ${services.length} services serving. Probed every ${health.data.probeIntervalSeconds} s by auth_svc; an alert fires after ${health.data.alertAfterSeconds} s unhealthy; history since ${fmtDateTime(tsDate(health.data.monitorStartTime))}.`
              : ""}
        </p>
        <SelectField label="History" value={windowSeconds} onChange={(e) => setWindowSeconds(Number(e.target.value))} className="w-44">
          {WINDOWS.map((w) => (
            <option key={w.seconds} value={w.seconds}>
              {w.label}
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
          <h2 className="text-sm font-semibold text-slate-900">Ingest pipeline</h2>
          <dl className="mt-3 grid grid-cols-2 gap-4 sm:grid-cols-4">
            <div>
              <dt className="text-xs text-slate-500">Meters online</dt>
              <dd className="text-xl font-semibold tabular-nums">{grid.data.aggregate?.metersOnline ?? 0}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Offline</dt>
              <dd className="text-xl font-semibold tabular-nums">{grid.data.aggregate?.metersOffline ?? 0}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Readings stored</dt>
              <dd className="text-xl font-semibold tabular-nums">{fmtInteger(grid.data.readingsStored)}</dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">Dead letters</dt>
              <dd className="text-xl font-semibold tabular-nums">{grid.data.deadLettersTotal.toString()}</dd>
            </div>
          </dl>
        </Card>
      )}
    </div>
  );
}
