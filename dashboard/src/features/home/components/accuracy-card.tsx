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

/** The headline in a household's words: how far off, and against assuming yesterday's price. */
export function accuracySentence(maeEurMwh: number, naiveMaeEurMwh: number): string {
  const off = `Forecasts were off by ${fmtNumber(maeEurMwh / 10, 1)} c/kWh on average`;
  if (!(naiveMaeEurMwh > 0)) return `${off}.`;
  const gain = 1 - maeEurMwh / naiveMaeEurMwh;
  const pct = fmtNumber(Math.abs(gain) * 100, 0);
  return gain >= 0.005
    ? `${off}, ${pct}% better than assuming yesterday's price.`
    : gain <= -0.005
      ? `${off}, ${pct}% worse than assuming yesterday's price.`
      : `${off}, no better than assuming yesterday's price.`;
}

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
        description={a ? `Our forecasts, made before each day's prices were published, against the prices that came, over the last ${a.hours} hours` : "Forecasts against published prices"}
        action={improvement !== undefined && <Badge tone={improvement > 0 ? "good" : "warn"}>{improvement > 0 ? `${fmtNumber(improvement * 100, 0)}% better than yesterday's price` : "No better than yesterday's price"}</Badge>}
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
            <p className="mb-3 text-sm text-slate-800" data-testid="accuracy-sentence">
              {accuracySentence(a.maeEurMwh, a.naiveMaeEurMwh)}
            </p>
            <dl className="mb-4 grid grid-cols-2 gap-4">
              <Stat label="Off by, on average" value={fmtNumber(a.maeEurMwh / 10, 1)} sub="c/kWh" testId="accuracy-mae" />
              <Stat label="Within the likely range" value={`${fmtNumber(a.intervalCoverage * 100, 0)}%`} sub="of hours (we aim for 80%)" />
              <Stat className="col-span-2" label="Assuming yesterday's price was off by" value={fmtNumber(a.naiveMaeEurMwh / 10, 1)} sub="c/kWh (the same hour the day before)" />
            </dl>
            {a.byHorizonDay.length > 0 && (
              <table className="mb-4 w-full text-xs" data-testid="accuracy-by-day">
                <thead className="text-slate-500">
                  <tr>
                    <th scope="col" className="text-left font-medium">Forecast for</th>
                    <th scope="col" className="text-right font-medium">Off by (c/kWh)</th>
                    <th scope="col" className="text-right font-medium">Yesterday's off by</th>
                    <th scope="col" className="text-right font-medium">Better by</th>
                  </tr>
                </thead>
                <tbody>
                  {a.byHorizonDay.map((d) => (
                    <tr key={d.horizonDay} className="text-slate-700">
                      <td>{d.horizonDay === 1 ? "next day" : `in ${d.horizonDay} days`}</td>
                      <td className="text-right">{fmtNumber(d.maeEurMwh / 10, 1)}</td>
                      <td className="text-right">{fmtNumber(d.naiveMaeEurMwh / 10, 1)}</td>
                      <td className="text-right">{d.naiveMaeEurMwh > 0 ? `${fmtNumber((1 - d.maeEurMwh / d.naiveMaeEurMwh) * 100, 0)}%` : "–"}</td>
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
