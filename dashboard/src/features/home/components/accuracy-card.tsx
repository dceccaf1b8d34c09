import { useMemo } from "react";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, legendValue, palette, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtNumber } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import { useAccuracy } from "../api/get-accuracy";

export function AccuracyCard({ zone, timeZone }: { zone: string | undefined; timeZone?: string }) {
  const accuracy = useAccuracy(zone);
  const a = accuracy.data;

  const data = useMemo(() => {
    const pts = a?.points ?? [];
    return [
      pts.map((p) => (tsDate(p.hourStart)?.getTime() ?? 0) / 1000),
      pts.map((p) => p.forecastP10EurMwh / 10),
      pts.map((p) => p.forecastP90EurMwh / 10),
      pts.map((p) => p.forecastP50EurMwh / 10),
      pts.map((p) => p.actualEurMwh / 10),
    ] as [number[], number[], number[], number[], number[]];
  }, [a]);

  const options = useMemo<ChartOptions>(() => {
    const time = timeX(timeZone);
    return {
      tzDate: time.tzDate,
      scales: { x: { time: true } },
      axes: [time.axis, { ...axisStyle, label: "c/kWh", labelSize: 18, size: 48 }],
      series: [
        time.series,
        { label: "P10", stroke: "rgba(99, 102, 241, 0.35)", width: 1, points: { show: false }, value: legendValue((v) => v.toFixed(1)) },
        { label: "P90", stroke: "rgba(99, 102, 241, 0.35)", width: 1, points: { show: false }, value: legendValue((v) => v.toFixed(1)) },
        { label: "Forecast", stroke: palette.forecast, width: 1.5, points: { show: false }, value: legendValue((v) => v.toFixed(1)) },
        { label: "Actual", stroke: palette.actual, width: 1.5, points: { show: false }, value: legendValue((v) => v.toFixed(1)) },
      ],
      bands: [{ series: [2, 1], fill: "rgba(99, 102, 241, 0.12)" }],
    };
  }, [timeZone]);

  const improvement = a && a.naiveMaeEurMwh > 0 ? 1 - a.maeEurMwh / a.naiveMaeEurMwh : undefined;

  return (
    <Card aria-labelledby="accuracy-title">
      <CardHeader
        id="accuracy-title"
        title="How good were recent forecasts?"
        description={a ? `Day-ahead forecasts (made before each auction) against published prices, last ${a.hours} h` : "Forecasts against published prices"}
        action={improvement !== undefined && <Badge tone={improvement > 0 ? "good" : "warn"}>{improvement > 0 ? `${fmtNumber(improvement * 100, 0)}% better than naive` : "No better than naive"}</Badge>}
      />
      <CardBody>
        {accuracy.isPending ? (
          <LoadingState label="Scoring recent forecasts…" className="h-64" />
        ) : accuracy.error ? (
          <ErrorState error={accuracy.error} onRetry={() => void accuracy.refetch()} className="h-64" />
        ) : !a || a.hours === 0 ? (
          <EmptyState title="Not enough history yet" description="Accuracy appears once forecast hours have cleared." className="h-64" />
        ) : (
          <>
            <dl className="mb-4 grid grid-cols-3 gap-4">
              <Stat label="Mean abs. error" value={fmtNumber(a.maeEurMwh / 10, 2)} sub="c/kWh" testId="accuracy-mae" />
              <Stat label="In 80% interval" value={`${fmtNumber(a.intervalCoverage * 100, 0)}%`} sub="target 80%" />
              <Stat label="Naive baseline" value={fmtNumber(a.naiveMaeEurMwh / 10, 2)} sub="c/kWh (same hour, last published day)" />
            </dl>
            {a.byHorizonDay.length > 0 && (
              <table className="mb-4 w-full text-xs" data-testid="accuracy-by-day">
                <thead className="text-slate-500">
                  <tr>
                    <th className="text-left font-medium">Unpublished day</th>
                    <th className="text-right font-medium">MAE c/kWh</th>
                    <th className="text-right font-medium">Naive</th>
                    <th className="text-right font-medium">vs naive</th>
                  </tr>
                </thead>
                <tbody>
                  {a.byHorizonDay.map((d) => (
                    <tr key={d.horizonDay} className="text-slate-700">
                      <td>{d.horizonDay === 1 ? "next day" : `+${d.horizonDay} days`}</td>
                      <td className="text-right">{fmtNumber(d.maeEurMwh / 10, 2)}</td>
                      <td className="text-right">{fmtNumber(d.naiveMaeEurMwh / 10, 2)}</td>
                      <td className="text-right">{d.relativeMae > 0 ? fmtNumber(d.relativeMae, 2) : "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <UPlotChart options={options} data={data} height={180} ariaLabel="Forecast against actual prices over recent hours" />
          </>
        )}
      </CardBody>
    </Card>
  );
}
