import { useMemo } from "react";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, legendValue, palette, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtNumber, fmtPercent, microToMinorPerKwh, perKwhUnit } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { messages, useT } from "@/lib/i18n";

import { useAccuracy } from "../api/get-accuracy";

/** An error in minor units per kWh of the bill's currency: the server's conversion when it names
 *  the currency (øre/kWh for NOK), else (an EUR-only server) EUR/MWh as c/kWh. */
export function errorMinor(micro: bigint, eurMwh: number, currency: string): number {
  return currency ? microToMinorPerKwh(micro) : eurMwh / 10;
}

/** The headline in a household's words: how far off (spot, in the bill's currency's øre or
 *  cents per kWh), and against assuming yesterday's price. */
export function accuracySentence(maeMinor: number, naiveMaeMinor: number, currency = "EUR"): string {
  const t = messages().home.accuracy;
  const off = t.sentence(fmtNumber(maeMinor, 1), perKwhUnit(currency));
  if (!(naiveMaeMinor > 0)) return `${off}.`;
  const gain = 1 - maeMinor / naiveMaeMinor;
  const pct = fmtPercent(Math.abs(gain));
  return gain >= 0.005 ? t.sentenceBetter(off, pct) : gain <= -0.005 ? t.sentenceWorse(off, pct) : t.sentenceSame(off);
}

export function AccuracyCard({ zone, timeZone }: { zone: string | undefined; timeZone?: string }) {
  const t = useT();
  const accuracy = useAccuracy(zone);
  const a = accuracy.data;
  const served = a?.currency ?? "";
  const currency = served || "EUR";
  const unit = perKwhUnit(currency);

  const data = useMemo(() => {
    const pts = a?.points ?? [];
    return [
      pts.map((p) => (tsDate(p.hourStart)?.getTime() ?? 0) / 1000),
      pts.map((p) => errorMinor(p.forecastP10MicroPerKwh, p.forecastP10EurMwh, served)),
      pts.map((p) => errorMinor(p.forecastP90MicroPerKwh, p.forecastP90EurMwh, served)),
      pts.map((p) => errorMinor(p.forecastP50MicroPerKwh, p.forecastP50EurMwh, served)),
      pts.map((p) => errorMinor(p.actualMicroPerKwh, p.actualEurMwh, served)),
    ] as [number[], number[], number[], number[], number[]];
  }, [a, served]);

  const options = useMemo<ChartOptions>(() => {
    const time = timeX(timeZone);
    return {
      tzDate: time.tzDate,
      scales: { x: { time: true } },
      axes: [time.axis, { ...axisStyle, label: t.home.bars.axis(unit), labelSize: 18, size: 52 }],
      series: [
        time.series,
        { label: "P10", stroke: "rgba(99, 102, 241, 0.35)", width: 1, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
        { label: "P90", stroke: "rgba(99, 102, 241, 0.35)", width: 1, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
        { label: t.common.forecast, stroke: palette.forecast, width: 1.5, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
        { label: t.common.actual, stroke: palette.actual, width: 1.5, points: { show: false }, value: legendValue((v) => fmtNumber(v, 1)) },
      ],
      bands: [{ series: [2, 1], fill: "rgba(99, 102, 241, 0.12)" }],
    };
  }, [timeZone, unit, t]);

  const improvement = a && a.naiveMaeEurMwh > 0 ? 1 - a.maeEurMwh / a.naiveMaeEurMwh : undefined;

  return (
    <Card aria-labelledby="accuracy-title">
      <CardHeader
        id="accuracy-title"
        title={t.home.accuracy.title}
        description={a ? t.home.accuracy.description(a.hours) : t.home.accuracy.descriptionNone}
        action={improvement !== undefined && <Badge tone={improvement > 0 ? "good" : "warn"}>{improvement > 0 ? t.home.accuracy.better(fmtPercent(improvement)) : t.home.accuracy.noBetter}</Badge>}
      />
      <CardBody>
        {accuracy.isPending ? (
          <LoadingState label={t.home.accuracy.scoring} className="h-64" />
        ) : accuracy.error ? (
          <ErrorState error={accuracy.error} onRetry={() => void accuracy.refetch()} className="h-64" />
        ) : !a || a.hours === 0 ? (
          <EmptyState title={t.home.accuracy.notEnough} description={t.home.accuracy.notEnoughSub} className="h-64" />
        ) : (
          <>
            <p className="mb-3 text-sm text-slate-800" data-testid="accuracy-sentence">
              {accuracySentence(errorMinor(a.maeMicroPerKwh, a.maeEurMwh, served), errorMinor(a.naiveMaeMicroPerKwh, a.naiveMaeEurMwh, served), currency)}
            </p>
            <dl className="mb-4 grid grid-cols-2 gap-4">
              <Stat label={t.home.accuracy.offBy} value={fmtNumber(errorMinor(a.maeMicroPerKwh, a.maeEurMwh, served), 1)} sub={t.home.accuracy.spotUnit(unit)} testId="accuracy-mae" />
              <Stat label={t.home.accuracy.within} value={fmtPercent(a.intervalCoverage)} sub={t.home.accuracy.withinSub} />
              <Stat className="col-span-2" label={t.home.accuracy.naive} value={fmtNumber(errorMinor(a.naiveMaeMicroPerKwh, a.naiveMaeEurMwh, served), 1)} sub={t.home.accuracy.naiveSub(unit)} />
            </dl>
            {a.byHorizonDay.length > 0 && (
              <table className="mb-4 w-full text-xs" data-testid="accuracy-by-day">
                <thead className="text-slate-500">
                  <tr>
                    <th scope="col" className="text-left font-medium">{t.home.accuracy.forecastFor}</th>
                    <th scope="col" className="text-right font-medium">{t.home.accuracy.offByUnit(unit)}</th>
                    <th scope="col" className="text-right font-medium">{t.home.accuracy.naiveOff}</th>
                    <th scope="col" className="text-right font-medium">{t.home.accuracy.betterBy}</th>
                  </tr>
                </thead>
                <tbody>
                  {a.byHorizonDay.map((d) => (
                    <tr key={d.horizonDay} className="text-slate-700">
                      <td>{d.horizonDay === 1 ? t.home.accuracy.nextDay : t.home.accuracy.inDays(d.horizonDay)}</td>
                      <td className="text-right">{fmtNumber(errorMinor(d.maeMicroPerKwh, d.maeEurMwh, served), 1)}</td>
                      <td className="text-right">{fmtNumber(errorMinor(d.naiveMaeMicroPerKwh, d.naiveMaeEurMwh, served), 1)}</td>
                      <td className="text-right">{d.naiveMaeEurMwh > 0 ? fmtPercent(1 - d.maeEurMwh / d.naiveMaeEurMwh) : "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <UPlotChart options={options} data={data} height={180} ariaLabel={t.home.accuracy.chart(unit)} />
          </>
        )}
      </CardBody>
    </Card>
  );
}
