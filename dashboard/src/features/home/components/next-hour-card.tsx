import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import type { BilledPrice, HouseholdForecast } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { fmtHour, fmtKwh, fmtMicroPerKwh, fmtMinor, fmtNumber } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { messages, useT } from "@/lib/i18n";

import { useHouseholdForecast } from "../api/predict-household";


/** µ/kWh of the bill's currency as øre/kWh (NOK) or c/kWh (EUR), in the app's locale. */
export const perKwh = fmtMicroPerKwh;

/** What the card shows of the next hour's price as billed (the API's BilledPrice, no bill arithmetic here). */
export function billedRows(billed: BilledPrice, forecast: HouseholdForecast | undefined) {
  const c = billed.currency;
  const t = messages().home.next;
  const vatIncluded = billed.vatMicroPerKwh !== 0n ? t.vatIncluded : t.noVat;
  return {
    allIn: perKwh(billed.totalMicroPerKwh, c),
    allInSub: t.allInSub(vatIncluded, billed.supportMicroPerKwh > 0n),
    spot: perKwh(billed.spotMicroPerKwh, c),
    spotSub: c === "NOK" ? t.spotSubNok : t.spotSub,
    parts: [
      [t.parts.energy, billed.energyMicroPerKwh],
      [t.parts.grid, billed.gridMicroPerKwh],
      [t.parts.taxes, billed.taxesMicroPerKwh],
      [billed.supportMicroPerKwh > 0n ? t.parts.norgespris : t.parts.support, billed.supportMicroPerKwh],
      [t.parts.vat, billed.vatMicroPerKwh],
    ].map(([label, micro]) => [label as string, perKwh(micro as bigint, c)] as const),
    fixed: forecast?.currency
      ? t.fixed(fmtMinor(forecast.capacityChargeMicroPerMonth / 10_000n, c), fmtMinor(forecast.supplierFeeMicroPerMonth / 10_000n, c))
      : "",
  };
}

export function NextHourCard({ householdId, timeZone }: { householdId: string; timeZone?: string }) {
  const t = useT();
  const forecast = useHouseholdForecast(householdId);
  const next = forecast.data?.forecast?.nextHour;
  const start = tsDate(next?.hourStart);
  const end = start ? new Date(start.getTime() + 3_600_000) : undefined;
  return (
    <Card aria-labelledby="next-hour-title">
      <CardHeader id="next-hour-title" title={t.home.next.title} description={start ? `${fmtHour(start, timeZone)}–${fmtHour(end, timeZone)}` : t.home.next.forecast} />
      <CardBody>
        {forecast.isPending ? (
          <div className="grid grid-cols-2 gap-4">
            <Skeleton className="h-14" />
            <Skeleton className="h-14" />
          </div>
        ) : forecast.error ? (
          <ErrorState error={forecast.error} onRetry={() => void forecast.refetch()} />
        ) : !next ? (
          <p className="text-sm text-slate-500">{t.home.next.none}</p>
        ) : (
          <>
          {next.billedPrice ? (
            <BilledPriceStats billed={next.billedPrice} forecast={forecast.data.forecast} kwh={next.consumptionKwh} />
          ) : (
          <dl className="grid grid-cols-2 gap-4">
            <Stat
              label={t.home.next.spotMarket}
              value={
                <>
                  {fmtNumber((next.price?.spotEurKwh ?? 0) * 100, 1)}
                  <span className="ml-1 text-sm font-medium text-slate-500">c/kWh</span>
                </>
              }
              sub={t.home.next.eurAsCleared}
              testId="next-hour-price"
            />
            <Stat className="col-span-2" label={t.home.next.expectedUse} valueClassName="text-sm font-medium text-slate-700" value={fmtKwh(next.consumptionKwh)} />
          </dl>
          )}
            <p className="mt-3 text-xs text-slate-600" data-testid="spot-definition">
              {t.home.next.definition}
            </p>
          </>
        )}
      </CardBody>
    </Card>
  );
}

function BilledPriceStats({ billed, forecast, kwh }: { billed: BilledPrice; forecast: HouseholdForecast | undefined; kwh: number }) {
  const t = useT();
  const rows = billedRows(billed, forecast);
  return (
    <>
      <dl className="grid grid-cols-2 gap-4">
        <Stat label={t.home.next.yourPrice} value={rows.allIn} sub={rows.allInSub} testId="next-hour-billed-price" />
        <Stat label={t.home.next.spot} value={rows.spot} sub={rows.spotSub} testId="next-hour-price" />
        <Stat className="col-span-2" label={t.home.next.expectedUse} valueClassName="text-sm font-medium text-slate-700" value={fmtKwh(kwh)} />
      </dl>
      <dl className="mt-3 grid grid-cols-2 gap-x-4 gap-y-1 text-xs text-slate-600" data-testid="next-hour-price-parts">
        {rows.parts.map(([label, value]) => (
          <div key={label} className="contents">
            <dt>{label}</dt>
            <dd className="text-right tabular-nums">{value}</dd>
          </div>
        ))}
      </dl>
      {rows.fixed && (
        <p className="mt-2 text-xs text-slate-600" data-testid="next-hour-fixed-charges">
          {t.home.next.fixedApart(rows.fixed)}
        </p>
      )}
    </>
  );
}
