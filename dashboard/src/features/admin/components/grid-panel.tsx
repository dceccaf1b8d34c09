import { useMemo } from "react";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, legendValue, palette, priceAxisIn, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge, StatusDot } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { env } from "@/config/env";
import { useMarketPrices } from "@/lib/api/get-market-prices";
import { fmtInteger, fmtNumber, fmtPerKwh, perKwhUnit, spotMinorPerKwh } from "@/lib/format";
import { useT } from "@/lib/i18n";
import { tsDate } from "@/lib/proto-json";
import { stepValueAt, steppedPath } from "@/lib/series";
import { useNow } from "@/lib/use-now";

import { useGridStats } from "../api/get-grid-stats";
import { useGridStream } from "../api/use-grid-stream";
import { ZoneLoadCard } from "./zone-load-card";

export function GridPanel() {
  const t = useT().admin.grid;
  const stats = useGridStats();
  const stream = useGridStream();
  const now = useNow(3_600_000);
  const start = useMemo(() => new Date(now.getTime() - 24 * 3_600_000), [now]);
  const end = useMemo(() => new Date(now.getTime() + 2 * 3_600_000), [now]);
  const prices = useMarketPrices(env().defaultZone, start, end);
  const currency = prices.data?.currency || "EUR"; // the server converts each day at its EUR rate

  const data = useMemo(() => {
    const hours = new Map((prices.data?.prices ?? []).map((p) => [(tsDate(p.hourStart)?.getTime() ?? 0) / 1000, spotMinorPerKwh(p)]));
    const pts = stream.points;
    return [pts.map((p) => p.time), pts.map((p) => p.totalKw), pts.map((p) => stepValueAt(hours, p.time))] as [number[], number[], (number | null)[]];
  }, [stream.points, prices.data]);

  const options = useMemo<ChartOptions>(() => {
    // Snapshots come every 2 s: label seconds; the grid has no household, so the browser's zone.
    const time = timeX(undefined, { seconds: true });
    return {
      tzDate: time.tzDate,
      // The load axis starts at zero (below it only when solar export makes the net load negative).
      scales: { x: { time: true }, kw: { range: (_u, min, max) => [Math.min(0, min), Math.max(max, 0.001) * 1.1] } },
      axes: [
        time.axis,
        { ...axisStyle, scale: "kw", label: t.axisKw, labelSize: 18, size: 52 },
        priceAxisIn(currency),
      ],
      series: [
        time.series,
        { label: t.aggregateKw, scale: "kw", stroke: palette.power, fill: palette.powerFill, width: 2, points: { show: false }, value: legendValue((v) => `${fmtNumber(v, 1)} kW`) },
        { label: t.spotIn(env().defaultZone, perKwhUnit(currency)), scale: "price", stroke: palette.price, width: 2, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
      ],
    };
  }, [currency, t]);

  const agg = stats.data?.aggregate;
  const reasons = Object.entries(stats.data?.deadLettersByReason ?? {}).sort((a, b) => Number(b[1] - a[1]));
  return (
    <div className="space-y-4">
      <Card>
        <CardBody>
          {stats.isPending ? (
            <LoadingState />
          ) : stats.error ? (
            <ErrorState error={stats.error} onRetry={() => void stats.refetch()} />
          ) : (
            <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
              <Stat label={t.metersOnline} value={agg?.metersOnline ?? 0} sub={t.offline(agg?.metersOffline ?? 0)} testId="grid-online" />
              <Stat label={t.aggregate} value={`${fmtNumber(agg?.totalPowerKw ?? 0, 1)} kW`} />
              <Stat label={t.ingestRate} value={`${fmtNumber(agg?.ingestRatePerSecond ?? 0, 1)}/s`} sub={t.perSecond} />
              <Stat label={t.readingsStored} value={fmtInteger(stats.data.readingsStored)} sub={t.sinceStart} />
            </dl>
          )}
        </CardBody>
      </Card>
      <Card aria-labelledby="grid-load-title">
        <CardHeader
          id="grid-load-title"
          title={t.liveTitle}
          description={t.liveDescription}
          action={
            <Badge tone={stream.status === "live" ? "good" : stream.status === "stopped" ? "bad" : "warn"}>
              <StatusDot tone={stream.status === "live" ? "good" : "warn"} pulse={stream.status === "live"} />
              {t.stream[stream.status]}
            </Badge>
          }
        />
        <CardBody>
          {stream.points.length < 2 ? (
            <EmptyState title={t.collecting} description={t.collectingSub} className="h-64" />
          ) : (
            <UPlotChart options={options} data={data} height={260} ariaLabel={t.chart} />
          )}
        </CardBody>
      </Card>
      <ZoneLoadCard />
      <Card aria-labelledby="dl-reasons-title">
        <CardHeader id="dl-reasons-title" title={t.byReason} description={t.inTotal(stats.data?.deadLettersTotal ?? 0n)} />
        <CardBody>
          {!stats.data ? (
            <p className="text-sm text-slate-500">{t.unavailable}</p>
          ) : reasons.length === 0 ? (
            <EmptyState title={t.noRejected} description={t.allPassed} />
          ) : (
            <ul className="space-y-2">
              {reasons.map(([reason, count]) => {
                const total = Number(stats.data.deadLettersTotal) || 1;
                return (
                  <li key={reason} className="text-sm">
                    <div className="flex justify-between">
                      <span className="font-mono text-xs text-slate-700">{reason}</span>
                      <span className="tabular-nums text-slate-600">{count.toString()}</span>
                    </div>
                    <div className="mt-1 h-1.5 rounded-full bg-slate-100">
                      <div className="h-1.5 rounded-full bg-amber-500" style={{ width: `${(Number(count) / total) * 100}%` }} />
                    </div>
                  </li>
                );
              })}
            </ul>
          )}
        </CardBody>
      </Card>
    </div>
  );
}
