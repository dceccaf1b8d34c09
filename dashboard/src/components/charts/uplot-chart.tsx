/**
 * uPlot in React: the chart is created once per `options` object and fed new data in place,
 * and follows its container's width. uPlot draws a week of minute data (10k points) in a few ms.
 * Every chart is reachable by keyboard with a table alternative (ChartAccess), read out with the
 * same labels and formatters as its legend.
 */
import { useCallback, useEffect, useMemo, useRef } from "react";
import uPlot from "uplot";

import { fmtDateTimeSeconds, fmtNumber, perKwhUnit } from "@/lib/format";
import { messages } from "@/lib/i18n";

import { ChartAccess, type AccessSeries } from "./chart-access";

export type ChartOptions = Omit<uPlot.Options, "width" | "height">;

/**
 * The x axis and the series of `options` as ChartAccess reads them: each series' label and the
 * format its legend uses (legendValue's), so the keyboard and the table read what the legend shows.
 */
export function accessSeries(options: ChartOptions): { x: AccessSeries; series: AccessSeries[] } {
  const of = (s: uPlot.Series | undefined, fallback: string, plain: (v: number) => string): AccessSeries => {
    const format = typeof s?.value === "function" ? legendFormats.get(s.value) : undefined;
    return { label: typeof s?.label === "string" ? s.label : fallback, format: (v) => (format ? format(v) : plain(v)) };
  };
  const [x, ...ys] = options.series;
  // uPlot's x scale is time (Unix seconds) unless a chart says otherwise.
  const plainX = options.scales?.x?.time === false ? (v: number) => fmtNumber(v, 2) : (v: number) => fmtDateTimeSeconds(new Date(v * 1000));
  const t = messages();
  return { x: of(x, t.common.time, plainX), series: ys.map((s, i) => of(s, t.chart.series(i + 1), (v) => fmtNumber(v, 2))) };
}

export function UPlotChart({ options, data, height = 260, ariaLabel, className }: { options: ChartOptions; data: uPlot.AlignedData; height?: number; ariaLabel: string; className?: string }) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  // The data a re-created chart starts from (kept current by the data effect below).
  const latestData = useRef(data);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const width = Math.max(el.clientWidth, 200);
    const plot = new uPlot({ ...options, width, height }, latestData.current, el);
    chart.current = plot;
    const observer = new ResizeObserver((entries) => {
      const w = Math.floor(entries[0]?.contentRect.width ?? width);
      if (w > 0 && w !== plot.width) plot.setSize({ width: w, height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    latestData.current = data;
    chart.current?.setData(data);
  }, [data]);

  const access = useMemo(() => accessSeries(options), [options]);
  // The chart's cursor (and so its legend) follows the point the keyboard reads out.
  const onActive = useCallback((index: number | undefined) => {
    const u = chart.current;
    if (!u) return;
    const xv = index === undefined ? undefined : u.data[0][index];
    if (index === undefined || xv == null) {
      u.setCursor({ left: -10, top: -10 });
      return;
    }
    const si = u.series.findIndex((_s, i) => i > 0 && u.data[i]?.[index] != null);
    const yv = si > 0 ? u.data[si]?.[index] : null;
    const top = yv == null ? u.over.clientHeight / 2 : u.valToPos(yv, u.series[si]?.scale ?? "y");
    u.setCursor({ left: u.valToPos(xv, "x"), top });
  }, []);

  return (
    <ChartAccess label={ariaLabel} x={access.x} series={access.series} data={data} onActive={onActive}>
      <div ref={container} role="img" aria-label={ariaLabel} className={className ?? "w-full"} />
    </ChartAccess>
  );
}

/** Shades x-ranges (e.g. the cheapest hours) behind the series. */
export function bandsPlugin(getBands: () => { from: number; to: number }[], color = "rgba(16, 185, 129, 0.13)"): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.fillStyle = color;
        for (const band of getBands()) {
          const x0 = u.valToPos(band.from, "x", true);
          const x1 = u.valToPos(band.to, "x", true);
          ctx.fillRect(Math.min(x0, x1), top, Math.abs(x1 - x0), height);
        }
        ctx.restore();
      },
    },
  };
}

/** legendValue's formats by the function it returned (what accessSeries reads a series with). */
const legendFormats = new WeakMap<object, (value: number) => string>();

/**
 * A series' legend value: "–" where the series has no point under the cursor (uPlot passes null
 * there, though its types say number).
 */
export function legendValue(format: (value: number) => string): (u: uPlot, value: number | null | undefined) => string {
  const value = (_u: uPlot, v: number | null | undefined) => (v == null ? "–" : format(v));
  legendFormats.set(value, format);
  return value;
}

/** The system's dark setting (the dashboard follows prefers-color-scheme); false outside a browser. */
export function prefersDark(): boolean {
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
}

/** Axis and grid styling shared by every chart. Canvas text cannot use the page's CSS: the axis
 *  labels take slate-500 on white (4.8:1) or slate-400 on the dark cards (7:1) at each draw. */
export const axisStyle = {
  stroke: () => (prefersDark() ? "#94a3b8" : "#64748b"),
  grid: { stroke: "rgba(148, 163, 184, 0.22)", width: 1 },
  ticks: { stroke: "rgba(148, 163, 184, 0.35)", width: 1, size: 4 },
  font: "11px Inter, ui-sans-serif, system-ui, sans-serif",
} satisfies Partial<uPlot.Axis>;

/**
 * uPlot's Axis.Side.Right. uPlot declares Side as an ambient const enum, which a per-file build
 * (esbuild, isolated modules) cannot inline, so the value is written out once, here.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- no runtime enum to take it from (above)
const RIGHT: uPlot.Axis.Side = 1;

/** The spot-price axis on the right of a power chart (scale "price", no grid of its own), in the
 *  bill's minor unit per kWh: øre/kWh for NOK, c/kWh for EUR. */
export function priceAxisIn(currency: string): uPlot.Axis {
  return { ...axisStyle, scale: "price", side: RIGHT, label: perKwhUnit(currency), labelSize: 18, size: 48, grid: { show: false } };
}

/** The price axis labelled with the unit shown ("øre/kWh (spot)"). */
export const priceAxisLabelled = (label: string): uPlot.Axis => ({ ...priceAxisIn("EUR"), label, size: 52 });

export const palette = {
  power: "#0d9488",
  powerFill: "rgba(13, 148, 136, 0.12)",
  price: "#d97706",
  priceFill: "rgba(217, 119, 6, 0.10)",
  band: "rgba(217, 119, 6, 0.14)",
  // The "actual" line is dark slate on white; on the dark cards it is light slate (both >= 3:1).
  get actual(): string {
    return prefersDark() ? "#cbd5e1" : "#334155";
  },
  forecast: "#6366f1",
};
