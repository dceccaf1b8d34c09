import { useMemo, useState } from "react";

import { timeX } from "@/components/charts/time-axis";
import { axisStyle, legendValue, palette, priceAxisIn, UPlotChart, type ChartOptions } from "@/components/charts/uplot-chart";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField, TextField } from "@/components/ui/field";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { env } from "@/config/env";
import { useMarketPrices } from "@/lib/api/get-market-prices";
import { fmtDateTime, fmtNumber, fmtPerKwh, perKwhUnit, spotMinorPerKwh } from "@/lib/format";
import { useT } from "@/lib/i18n";
import { tsDate } from "@/lib/proto-json";
import { stepValueAt, steppedPath } from "@/lib/series";
import { useNow } from "@/lib/use-now";

import { useGridLoad } from "../api/get-grid-load";

const HOUR = 3_600_000;
const MAX_RANGE_MS = 31 * 24 * HOUR;
const PRESETS = [
  { key: "6h", ms: 6 * HOUR },
  { key: "24h", ms: 24 * HOUR },
  { key: "7d", ms: 7 * 24 * HOUR },
  { key: "custom", ms: 0 },
];

/** Buckets fine enough to see a short demo, coarse enough to stay well under 2000 buckets. */
function stepFor(rangeMs: number): number {
  if (rangeMs <= 6 * HOUR) return 300;
  if (rangeMs <= 48 * HOUR) return 900;
  return 3600;
}

/** "2026-12-02T10:00" for a datetime-local input, in the browser's zone. */
function localInput(date: Date): string {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function ZoneLoadCard() {
  const all = useT().admin;
  const t = all.zoneLoad;
  const now = useNow(60_000);
  const [preset, setPreset] = useState("24h");
  const [custom, setCustom] = useState(() => ({ from: localInput(new Date(now.getTime() - 24 * HOUR)), to: localInput(now) }));
  const [start, end] = useMemo(() => {
    const chosen = PRESETS.find((p) => p.key === preset);
    if (chosen && chosen.ms > 0) return [new Date(now.getTime() - chosen.ms), now];
    const from = new Date(custom.from);
    const to = new Date(custom.to);
    return Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) ? [now, now] : [from, to];
  }, [preset, custom, now]);
  // The server refuses these too (INVALID_TIME_RANGE, TIME_RANGE_TOO_LONG); said here before asking.
  const rangeProblem =
    end.getTime() <= start.getTime()
      ? t.endAfterStart
      : end.getTime() - start.getTime() > MAX_RANGE_MS
        ? t.tooLong
        : "";
  const rangeOk = rangeProblem === "";
  const step = stepFor(end.getTime() - start.getTime());
  const load = useGridLoad(start, end, step, rangeOk);
  const zones = useMemo(() => load.data?.zones ?? [], [load.data]);
  const [picked, setPicked] = useState("");
  const zone = zones.find((z) => z.zone === picked)?.zone ?? zones.find((z) => z.zone === env().defaultZone)?.zone ?? zones[0]?.zone ?? "";
  const prices = useMarketPrices(rangeOk && zone ? zone : undefined, start, end);
  const currency = prices.data?.currency || "EUR"; // the server converts each day at its EUR rate

  const rows = useMemo(() => {
    const hours = new Map((prices.data?.prices ?? []).map((p) => [(tsDate(p.hourStart)?.getTime() ?? 0) / 1000, spotMinorPerKwh(p)]));
    const points = zones.find((z) => z.zone === zone)?.points ?? [];
    return points.map((p) => {
      const at = (tsDate(p.startTime)?.getTime() ?? 0) / 1000;
      return { t: at, kw: p.meanPowerKw, meters: p.metersReporting, price: stepValueAt(hours, at) };
    });
  }, [zones, zone, prices.data]);

  const startS = start.getTime() / 1000;
  const endS = end.getTime() / 1000;
  const data = useMemo(() => [rows.map((r) => r.t), rows.map((r) => r.kw), rows.map((r) => r.price)] as [number[], number[], (number | null)[]], [rows]);
  const options = useMemo<ChartOptions>(() => {
    const time = timeX();
    return {
      tzDate: time.tzDate,
      // The load axis starts at zero (or below it when solar export makes the net load negative).
      // The x axis is the chosen range, not just the periods that have readings.
      scales: { x: { time: true, range: () => [startS, endS] }, kw: { range: (_u, min, max) => [Math.min(0, min), Math.max(max, 0.001) * 1.1] } },
      axes: [time.axis, { ...axisStyle, scale: "kw", label: all.grid.axisKw, labelSize: 18, size: 56 }, priceAxisIn(currency)],
      series: [
        time.series,
        { label: t.meanKw, scale: "kw", stroke: palette.power, fill: palette.powerFill, width: 2, value: legendValue((v) => `${fmtNumber(v, 2)} kW`) },
        { label: t.spot(perKwhUnit(currency)), scale: "price", stroke: palette.price, width: 2, paths: steppedPath, points: { show: false }, value: legendValue((v) => fmtPerKwh(v, currency)) },
      ],
    };
  }, [startS, endS, currency, t, all]);

  return (
    <Card aria-labelledby="zone-load-title" data-testid="zone-load">
      <CardHeader id="zone-load-title" title={t.title} description={t.description} />
      <CardBody>
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4 lg:items-end">
          <SelectField label={t.range} value={preset} onChange={(e) => setPreset(e.target.value)}>
            {PRESETS.map((p) => (
              <option key={p.key} value={p.key}>
                {t.presets[p.key]}
              </option>
            ))}
          </SelectField>
          {preset === "custom" && (
            <>
              <TextField label={all.fromLocal} type="datetime-local" value={custom.from} onChange={(e) => setCustom({ ...custom, from: e.target.value })} />
              <TextField label={all.toLocal} type="datetime-local" value={custom.to} onChange={(e) => setCustom({ ...custom, to: e.target.value })} />
            </>
          )}
          <SelectField label={t.zone} value={zone} onChange={(e) => setPicked(e.target.value)} disabled={zones.length === 0}>
            {zones.length === 0 && <option value="">—</option>}
            {zones.map((z) => (
              <option key={z.zone} value={z.zone}>
                {z.zone || t.noZone}
              </option>
            ))}
          </SelectField>
        </div>
        <p className="mt-2 text-xs text-slate-600" data-testid="zone-load-range">
          {t.periods(fmtDateTime(start), fmtDateTime(end), step / 60)}
        </p>
        <div className="mt-4">
          {!rangeOk ? (
            <p role="alert" className="text-sm text-rose-700">
              {rangeProblem}
            </p>
          ) : load.isPending ? (
            <LoadingState label={t.loading} />
          ) : load.error ? (
            <ErrorState error={load.error} onRetry={() => void load.refetch()} />
          ) : rows.length === 0 ? (
            <EmptyState title={t.none} description={t.noneSub} />
          ) : (
            <>
              <UPlotChart options={options} data={data} height={260} ariaLabel={t.chart(zone)} />
              <details className="mt-3 text-sm">
                <summary className="cursor-pointer text-slate-700">{t.showTable(rows.length)}</summary>
                <div className="mt-2 max-h-72 overflow-auto">
                  <table className="w-full text-left text-xs">
                    <caption className="sr-only">{t.caption(zone)}</caption>
                    <thead>
                      <tr className="text-slate-600">
                        <th scope="col" className="py-1 pr-3">{t.periodStart}</th>
                        <th scope="col" className="py-1 pr-3 text-right">{t.load}</th>
                        <th scope="col" className="py-1 pr-3 text-right">{t.meters}</th>
                        <th scope="col" className="py-1 text-right">{t.price(perKwhUnit(currency))}</th>
                      </tr>
                    </thead>
                    <tbody className="tabular-nums">
                      {rows.map((r) => (
                        <tr key={r.t} className="border-t border-slate-100" data-testid="zone-load-row">
                          <th scope="row" className="py-1 pr-3 font-normal">{fmtDateTime(new Date(r.t * 1000))}</th>
                          <td className="py-1 pr-3 text-right">{fmtNumber(r.kw, 2)}</td>
                          <td className="py-1 pr-3 text-right">{r.meters}</td>
                          <td className="py-1 text-right">{r.price === null ? "—" : fmtNumber(r.price, 1)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </details>
            </>
          )}
        </div>
      </CardBody>
    </Card>
  );
}
