import { CheapestCertainty, ExceedStatus, ForecastInput, ForecastNoteCode, PriceKind } from "@/gen/energypulse/prediction/v1/forecast_pb";
import type { GetPriceForecastResponse } from "@/gen/energypulse/prediction/v1/prediction_service_pb";
import { fmtDay, fmtPercent, fmtRate, microToMinorPerKwh, minorPerKwhToMicro, perKwhUnit } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { messages, type Messages } from "@/lib/i18n";

/** The currency the response's spot prices are shown in: the bill's (NOK or EUR, the server's
 *  rule set); a server without the field serves EUR only. */
export function spotCurrency(response: { currency: string } | undefined): string {
  return response?.currency || "EUR";
}

/** One served period in chart units: seconds, and minor units of the bill's currency per kWh
 *  (øre/kWh for NOK, c/kWh for EUR) of the zone's spot price, ex VAT, converted by the server at
 *  the day's EUR rate; no rate is applied here. */
export interface Period {
  t: number;
  end: number;
  day: string;
  dayOffset: number;
  published: boolean;
  derived: boolean;
  price: number;
  p10: number;
  p90: number;
  exceed?: { probability: number; status: ExceedStatus };
}

interface SpotValue {
  priceEurMwh: number;
  spotMicroPerKwh: bigint;
}

/** A served spot value in minor units per kWh: the server's conversion when it names the
 *  currency, else (an EUR-only server) EUR/MWh as c/kWh. */
export function spotMinor(value: SpotValue, response: { currency: string } | undefined): number {
  return response?.currency ? microToMinorPerKwh(value.spotMicroPerKwh) : value.priceEurMwh / 10;
}

export function periodsOf(response: GetPriceForecastResponse | undefined): Period[] {
  const minor = (v: SpotValue) => spotMinor(v, response);
  return (response?.periods ?? []).map((p) => {
    const t = (tsDate(p.startTime)?.getTime() ?? 0) / 1000;
    const q = p.quantiles;
    const published = p.kind === PriceKind.PUBLISHED;
    // The P10-P90 band (a forecast may also carry P95/P99/P99.5/P99.9, the spike tail, above it).
    const low = q.find((x) => x.level === 0.1) ?? q.at(0) ?? p;
    const high = q.find((x) => x.level === 0.9) ?? q.at(-1) ?? p;
    return {
      t,
      end: t + p.durationMinutes * 60,
      day: p.deliveryDay,
      dayOffset: p.dayOffset,
      published,
      derived: p.derived,
      price: minor(p),
      p10: minor(low),
      p90: minor(high),
      exceed: p.exceedStatus === ExceedStatus.UNSPECIFIED ? undefined : { probability: p.exceedProbability, status: p.exceedStatus },
    };
  });
}

export interface Cheapest {
  t: number;
  end: number;
  day: string;
  price: number;
  certain: boolean;
}

export function cheapestOf(response: GetPriceForecastResponse | undefined): Cheapest[] {
  return (response?.cheapestPeriods ?? []).map((c) => {
    const t = (tsDate(c.startTime)?.getTime() ?? 0) / 1000;
    return { t, end: t + c.durationMinutes * 60, day: c.deliveryDay, price: spotMinor(c, response), certain: c.certainty === CheapestCertainty.CERTAIN };
  });
}

/** The likely (forecast) cheapest period of each forecast day, with its P10-P90 band, and whether
 *  the bands overlap the best one's: then the forecast cannot tell them apart. */
export function likelyCheapestByDay(cheapest: Cheapest[], periods: Period[]): { pick: Cheapest; p10: number; p90: number }[] {
  const byStart = new Map(periods.map((p) => [p.t, p]));
  const seen = new Set<string>();
  const out: { pick: Cheapest; p10: number; p90: number }[] = [];
  for (const c of cheapest) {
    if (c.certain || seen.has(c.day)) continue;
    seen.add(c.day);
    const period = byStart.get(c.t);
    out.push({ pick: c, p10: period?.p10 ?? c.price, p90: period?.p90 ?? c.price });
  }
  return out;
}

/** True when every pick's band reaches below the top of the best pick's band. */
export function indistinguishable(picks: { pick: Cheapest; p10: number; p90: number }[]): boolean {
  if (picks.length < 2) return false;
  const best = picks.reduce((a, b) => (b.pick.price < a.pick.price ? b : a));
  return picks.every((p) => p.p10 <= best.p90);
}

/** Periods of today (offset 0) and tomorrow (offset 1). */
export function nearDays(periods: Period[]): Period[] {
  return periods.filter((p) => p.dayOffset === 0 || p.dayOffset === 1);
}

/** Bars for the published periods (null elsewhere), and the forecast band and median (null where published). */
export function barSeries(periods: Period[]): [number[], (number | null)[], (number | null)[], (number | null)[], (number | null)[]] {
  const xs = periods.map((p) => p.t);
  return [
    xs,
    periods.map((p) => (p.published ? p.price : null)),
    periods.map((p) => (p.published ? null : p.p10)),
    periods.map((p) => (p.published ? null : p.price)),
    periods.map((p) => (p.published ? null : p.p90)),
  ];
}

/** Human words for a spike probability: bounds stay bounds (the model's top quantile is P90). */
export function spikeWords(exceed: Period["exceed"]): string {
  if (!exceed) return "";
  const pct = fmtPercent(Math.round(exceed.probability * 100) / 100);
  const t = messages().home.spike;
  switch (exceed.status) {
    case ExceedStatus.EXACT:
      return exceed.probability >= 1 ? t.abovePublished : t.notAbovePublished;
    case ExceedStatus.ABOVE_TOP_QUANTILE:
      return t.under(pct);
    case ExceedStatus.BELOW_BOTTOM_QUANTILE:
      return t.over(pct);
    default:
      return pct;
  }
}

/** Per delivery day: the highest spike chance among its remaining periods (and whether it is a bound). */
export function spikeByDay(periods: Period[], nowSec: number): { day: string; dayOffset: number; exceed: NonNullable<Period["exceed"]>; at: number }[] {
  const out = new Map<string, { day: string; dayOffset: number; exceed: NonNullable<Period["exceed"]>; at: number }>();
  for (const p of periods) {
    if (!p.exceed || p.end <= nowSec) continue;
    const best = out.get(p.day);
    if (!best || p.exceed.probability > best.exceed.probability) out.set(p.day, { day: p.day, dayOffset: p.dayOffset, exceed: p.exceed, at: p.t });
  }
  return [...out.values()];
}

/** Consecutive cheapest periods of one day and certainty merged into windows (mean price). */
export function cheapestWindows(cheapest: Cheapest[]): Cheapest[] {
  const sorted = [...cheapest].sort((a, b) => a.t - b.t);
  const out: Cheapest[] = [];
  const counts: number[] = [];
  for (const c of sorted) {
    const last = out.at(-1);
    const n = counts.at(-1) ?? 0;
    if (last?.end === c.t && last.day === c.day && last.certain === c.certain) {
      last.price = (last.price * n + c.price) / (n + 1);
      counts[counts.length - 1] = n + 1;
      last.end = c.end;
    } else {
      out.push({ ...c });
      counts.push(1);
    }
  }
  return out;
}

/** The EUR/NOK rate the server converted a day's spot prices at, in words ("" for EUR). */
export function rateNote(response: GetPriceForecastResponse | undefined, day?: string): string {
  const currency = spotCurrency(response);
  if (currency === "EUR" || !response?.currency) return "";
  const status = response.deliveryDays.find((d) => d.deliveryDay === day) ?? response.deliveryDays.at(0);
  const rate = Number(status?.eurRate);
  if (!status?.eurRate || !Number.isFinite(rate)) return "";
  return fmtRate(rate, currency);
}

/** The spike threshold a household types (minor units per kWh of the bill's currency) as the
 *  API's µ per kWh; undefined when it is not a number. */
export function thresholdMicro(minorPerKwh: number): bigint | undefined {
  return Number.isFinite(minorPerKwh) ? minorPerKwhToMicro(minorPerKwh) : undefined;
}

/** The spike threshold before a household sets one, in minor units per kWh of spot price. */
export function defaultSpikeThreshold(currency: string): number {
  return currency === "NOK" ? 150 : 15;
}

/** A number typed with a decimal comma or point ("150", "12,5", "12.5"); NaN otherwise. */
export function parseDecimal(text: string): number {
  const t = text.trim().replace(/\s/g, "").replace(",", ".");
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : NaN;
}

/** What the zone cards' figures are, in words: spot, not the bill's all-in price. */
export function spotUnitNote(currency: string, rate: string): string {
  return messages().home.spotUnitNote(perKwhUnit(currency), rate);
}

/**
 * What the forecast stood on, one line per note, in the page's language: the typed `notes`
 * worded by the catalogue. A note the catalogue cannot word (a newer server's code or input)
 * shows the server's English line of the same index, and an older server that sends only the
 * deprecated prose `forecastNotes` shows that.
 */
export function forecastNoteLines(response: Pick<GetPriceForecastResponse, "notes" | "forecastNotes">, t: Messages): string[] {
  if (response.notes.length === 0) return response.forecastNotes;
  const inputs: Partial<Record<ForecastInput, string>> = { [ForecastInput.LOAD_FORECAST]: t.home.week.noteInputs.load, [ForecastInput.WIND_SOLAR_FORECAST]: t.home.week.noteInputs.windSolar };
  return response.notes.flatMap((note, i) => {
    const input = inputs[note.input];
    if (note.code === ForecastNoteCode.INPUT_SUBSTITUTED && input !== undefined) return [t.home.week.noteSubstituted(input, fmtDay(note.missingDay), fmtDay(note.usedDay))];
    const prose = response.forecastNotes[i];
    return prose ? [prose] : [];
  });
}
