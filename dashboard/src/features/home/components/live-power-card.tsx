import { useEffect, useMemo, useState } from "react";

import { legendValue, palette, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge, StatusDot, type Tone } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { BoltIcon } from "@/components/ui/icons";
import { EmptyState } from "@/components/ui/states";
import { fmtDateTimeSeconds, fmtNumber, fmtRelative } from "@/lib/format";
import type { StreamStatus } from "@/lib/sse";
import { tsDate } from "@/lib/proto-json";
import { isolatedPoints } from "@/lib/series";
import { useT } from "@/lib/i18n";

import { useHouseholdSummary } from "../api/get-household-summary";

import { useLiveReadings } from "../api/use-live-readings";

const TONE: Record<StreamStatus, Tone> = { connecting: "neutral", live: "good", reconnecting: "warn", stopped: "bad" };

export function LivePowerCard({ householdId }: { householdId: string }) {
  const t = useT();
  const live = useLiveReadings(householdId);
  // Until the stream's first reading (meters report every few seconds, so that can take ~10 s),
  // the last known value from the summary (the same query as the card beside it): shown at once,
  // marked as the last known value, replaced by the stream.
  const summary = useHouseholdSummary(householdId);
  const lastRead = tsDate(summary.data?.lastReadTime);
  const seed = !live.latest && summary.data && lastRead && lastRead.getTime() > 0 ? { time: lastRead.getTime() / 1000, kw: summary.data.currentPowerKw } : undefined;
  const shown = live.latest ?? seed;
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 5000);
    return () => clearInterval(timer);
  }, []);

  const options = useMemo<ChartOptions>(
    () => ({
      padding: [6, 0, 0, 0],
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.15, 0.5)] } },
      axes: [{ show: false }, { show: false }],
      series: [
        { label: t.common.time, value: legendValue((v) => fmtDateTimeSeconds(new Date(v * 1000))) },
        { label: t.common.powerKw, stroke: palette.power, width: 2, fill: palette.powerFill, points: isolatedPoints, value: legendValue((v) => `${fmtNumber(v, 2)} kW`) },
      ],
    }),
    [t],
  );
  const data = useMemo(() => [live.points.map((p) => p.time), live.points.map((p) => p.kw)] as [number[], number[]], [live.points]);
  const status = { label: t.home.live.status[live.status], tone: TONE[live.status] };

  return (
    <Card aria-labelledby="live-power-title" className="flex flex-col">
      <CardHeader
        id="live-power-title"
        title={t.home.live.title}
        description={live.meters > 1 ? t.home.live.sumOf(live.meters) : t.home.live.net}
        action={
          <Badge tone={status.tone} title={live.detail}>
            <StatusDot tone={status.tone} pulse={live.status === "live"} />
            <span data-testid="live-status">{status.label}</span>
          </Badge>
        }
      />
      <CardBody className="flex flex-1 flex-col">
        {shown ? (
          <>
            <div className="flex items-baseline gap-2">
              <BoltIcon className="size-6 self-center text-brand-600" />
              <span className="text-4xl font-semibold tracking-tight tabular-nums text-slate-900" data-testid="live-power" aria-live="polite">
                {fmtNumber(shown.kw, 2)}
              </span>
              <span className="text-base font-medium text-slate-500">kW</span>
            </div>
            <p className="mt-1 text-xs text-slate-500">
              {shown.kw < 0 ? t.home.live.exporting : ""}
              {live.latest ? t.home.live.updated : <span data-testid="live-last-known">{t.home.live.lastKnown}</span>} {fmtRelative(new Date(shown.time * 1000))}
            </p>
            <div className="mt-3 -mx-1">
              <UPlotChart options={options} data={data} height={72} ariaLabel={t.home.live.chart} />
            </div>
          </>
        ) : live.status === "stopped" ? (
          <EmptyState title={t.home.live.stoppedTitle} description={live.detail ?? t.home.live.closed} />
        ) : (
          <EmptyState title={t.home.live.waiting} description={live.detail ? t.home.live.problem(live.detail) : t.home.live.every} />
        )}
      </CardBody>
    </Card>
  );
}
