import { Badge, StatusDot } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/states";
import { itemAt } from "@/lib/arrays";
import { fmtNumber, fmtRelative } from "@/lib/format";

import { PROBES, useServiceHealth } from "../api/service-health";
import { useGridStats } from "../api/get-grid-stats";

export function HealthPanel() {
  const results = useServiceHealth();
  const grid = useGridStats();
  const up = results.filter((r) => r.data?.ok).length;
  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600">
        {results.some((r) => r.isPending) ? "Checking services…" : `${up} of ${PROBES.length} services answering through the edge.`}
      </p>
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4">
        {PROBES.map((p, i) => {
          const r = itemAt(results, i);
          const ok = r.data?.ok;
          return (
            <Card key={p.service} className="p-5" data-testid={`health-${p.service}`} data-ok={ok === undefined ? "pending" : String(ok)}>
              <div className="flex items-center justify-between">
                <h2 className="text-sm font-semibold text-slate-900">{p.label}</h2>
                {r.isPending ? <Badge>Checking</Badge> : <Badge tone={ok ? "good" : "bad"}><StatusDot tone={ok ? "good" : "bad"} />{ok ? "Healthy" : "Failing"}</Badge>}
              </div>
              <p className="mt-1 font-mono text-xs text-slate-500">{p.route().rpc}</p>
              {r.data ? (
                <div className="mt-4 space-y-1 text-sm">
                  <p className="text-slate-700">
                    <span className="text-2xl font-semibold tabular-nums">{fmtNumber(r.data.latencyMs, 0)}</span> ms
                  </p>
                  {!r.data.ok && <p className="break-words text-xs text-rose-700">{r.data.detail}</p>}
                  <p className="text-xs text-slate-500">checked {fmtRelative(new Date(r.data.checkedAt))}</p>
                </div>
              ) : (
                <Skeleton className="mt-4 h-12" />
              )}
            </Card>
          );
        })}
      </div>
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
              <dd className="text-xl font-semibold tabular-nums">{grid.data.readingsStored.toLocaleString()}</dd>
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
