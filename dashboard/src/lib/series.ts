/** Aligning meter readings and hourly prices on one time axis for uPlot. */
import uPlot from "uplot";

export interface TimedValue {
  t: number; // Unix seconds
  v: number;
}

/** The value of the hourly step that contains `t` (hours keyed by their start, seconds). */
export function stepValueAt(hours: Map<number, number>, t: number): number | null {
  const hourStart = Math.floor(t / 3600) * 3600;
  return hours.get(hourStart) ?? null;
}

/**
 * x = every reading time plus every hour boundary in [start, end]; power where measured (null
 * elsewhere, so gaps show as gaps), price as the hour's step everywhere it is known.
 */
export function alignPowerAndPrice(readings: TimedValue[], hourlyPrices: TimedValue[], startSec: number, endSec: number): uPlot.AlignedData {
  const prices = new Map(hourlyPrices.map((p) => [p.t, p.v]));
  const power = new Map<number, number>();
  for (const r of readings) power.set(r.t, r.v);
  const xs = new Set<number>(power.keys());
  for (let h = Math.floor(startSec / 3600) * 3600; h <= endSec; h += 3600) if (h >= startSec) xs.add(h);
  const x = [...xs].sort((a, b) => a - b);
  return [x, x.map((t) => power.get(t) ?? null), x.map((t) => stepValueAt(prices, t))];
}

export const steppedPath = uPlot.paths.stepped?.({ align: 1 });

/** Indices of values with no non-null neighbour: a line cannot show them, so they get a dot. */
export function isolatedIndices(values: ArrayLike<number | null | undefined>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] == null) continue;
    if ((i === 0 || values[i - 1] == null) && (i === values.length - 1 || values[i + 1] == null)) out.push(i);
  }
  return out;
}

/** uPlot points that draw only isolated values (a lone reading would otherwise be invisible). */
export const isolatedPoints: uPlot.Series.Points = {
  show: false,
  size: 6,
  filter: (u, seriesIdx) => {
    const idxs = isolatedIndices(u.data[seriesIdx] ?? []);
    return idxs.length ? idxs : null;
  },
};
