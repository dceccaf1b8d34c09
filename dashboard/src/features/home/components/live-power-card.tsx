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

import { useHouseholdSummary } from "../api/get-household-summary";

import { useLiveReadings } from "../api/use-live-readings";

const STATUS: Record<StreamStatus, { label: string; tone: Tone }> = {
  connecting: { label: "Connecting…", tone: "neutral" },
  live: { label: "Live", tone: "good" },
  reconnecting: { label: "Reconnecting…", tone: "warn" },
  stopped: { label: "Stopped", tone: "bad" },
};

export function LivePowerCard({ householdId }: { householdId: string }) {
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
        { label: "Time", value: legendValue((v) => fmtDateTimeSeconds(new Date(v * 1000))) },
        { label: "Power (kW)", stroke: palette.power, width: 2, fill: palette.powerFill, points: isolatedPoints, value: legendValue((v) => `${fmtNumber(v, 2)} kW`) },
      ],
    }),
    [],
  );
  const data = useMemo(() => [live.points.map((p) => p.time), live.points.map((p) => p.kw)] as [number[], number[]], [live.points]);
  const status = STATUS[live.status];

  return (
    <Card aria-labelledby="live-power-title" className="flex flex-col">
      <CardHeader
        id="live-power-title"
        title="Live power"
        description={live.meters > 1 ? `Sum of ${live.meters} meters` : "Net power from your meter"}
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
              {shown.kw < 0 ? "Exporting to the grid · " : ""}
              {live.latest ? "updated" : <span data-testid="live-last-known">last known value, read</span>} {fmtRelative(new Date(shown.time * 1000))}
            </p>
            <div className="mt-3 -mx-1">
              <UPlotChart options={options} data={data} height={72} ariaLabel="Live power over the last minutes" />
            </div>
          </>
        ) : live.status === "stopped" ? (
          <EmptyState title="Live stream stopped" description={live.detail ?? "The live connection was closed."} />
        ) : (
          <EmptyState title="Waiting for the first reading…" description={live.detail ? `Connection problem: ${live.detail}. Retrying.` : "Readings arrive every few seconds."} />
        )}
      </CardBody>
    </Card>
  );
}
