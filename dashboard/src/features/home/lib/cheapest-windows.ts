/** Words for cheapest windows: when, at what price, how sure, and whether it beats the best. */
import { CheapestCertainty, type CheapestWindow } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { fmtNumber, fmtPerKwh, fmtTime, fmtWeekday, microToMinorPerKwh, perKwhUnit } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { messages } from "@/lib/i18n";

export interface WindowView {
  key: string;
  /** "Wed 02:00–06:00" in the household's zone. */
  when: string;
  /** "42.0 øre/kWh spot on average" (NOK) or "4.2 c/kWh spot on average" (EUR), in the app's locale. */
  price: string;
  certain: boolean;
  /** "published prices" or "forecast: likely 3.1–7.9 c/kWh". */
  basis: string;
  /** False: the forecast cannot tell this window from the best one. */
  distinguishable: boolean;
}

export const DURATION_CHOICES = [60, 120, 180, 240, 360, 480] as const;

export function durationLabel(minutes: number): string {
  const t = messages().home.windows;
  return minutes % 60 === 0 ? t.hours(minutes / 60) : t.minutes(minutes);
}

/** ``currency``: the response's (the bill's, whose *_spot_micro_per_kwh the server converted);
 *  empty for a server that serves EUR/MWh only (shown as c/kWh). */
export function windowView(w: CheapestWindow, timeZone?: string, currency = ""): WindowView {
  const start = tsDate(w.startTime);
  const end = tsDate(w.endTime);
  const day = fmtWeekday(start, timeZone);
  const time = (d: Date | undefined) => fmtTime(d, timeZone);
  const certain = w.certainty === CheapestCertainty.CERTAIN;
  const shown = currency || "EUR";
  const t = messages().home.windows;
  const minor = (micro: bigint, eurMwh: number) => (currency ? microToMinorPerKwh(micro) : eurMwh / 10);
  return {
    key: String(w.startTime?.seconds ?? ""),
    when: `${day} ${time(start)}–${time(end)}`,
    price: t.onAverage(fmtPerKwh(minor(w.meanSpotMicroPerKwh, w.meanPriceEurMwh), shown)),
    certain,
    basis: certain
      ? t.publishedPrices
      : t.forecastLikely(fmtNumber(minor(w.lowSpotMicroPerKwh, w.lowPriceEurMwh), 1), fmtNumber(minor(w.highSpotMicroPerKwh, w.highPriceEurMwh), 1), perKwhUnit(shown)),
    distinguishable: w.distinguishableFromBest,
  };
}

/** One sentence about the choice: whether the listed windows are really different. */
export function choiceNote(views: readonly WindowView[]): string | undefined {
  const alike = views.filter((v) => !v.distinguishable);
  if (alike.length === 0) return undefined;
  const t = messages().home.windows;
  return alike.length === 1 ? t.oneAlike(alike[0]?.when ?? "") : t.manyAlike(alike.map((v) => v.when).join(", "));
}
