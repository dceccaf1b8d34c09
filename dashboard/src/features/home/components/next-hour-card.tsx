import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import type { BilledPrice, HouseholdForecast } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { fmtHour, fmtKwh, fmtMinor, fmtNumber, fmtPerKwh } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import { useHouseholdForecast } from "../api/predict-household";

/** The one definition of "all-in": every per-kWh line of the bill with VAT; fixed charges apart. */
export const SPOT_DEFINITION =
  "All-in is every per-kWh line of your bill: spot and the supplier's markup, the grid energy charge, elavgift and the Enova fee, minus state support (or the Norgespris settlement), with VAT. Fixed charges (the monthly capacity step and the supplier's fee) are not in it and are shown apart.";

/** µ/kWh of the bill's currency as øre/kWh (NOK) or c/kWh (EUR), in the app's locale. */
export function perKwh(micro: bigint, currency: string): string {
  const minor = Number(micro) / 10_000;
  return fmtPerKwh(minor, currency);
}

/** What the card shows of the next hour's price as billed (the API's BilledPrice, no bill arithmetic here). */
export function billedRows(billed: BilledPrice, forecast: HouseholdForecast | undefined) {
  const c = billed.currency;
  const vatIncluded = billed.vatMicroPerKwh !== 0n ? "VAT included" : "no VAT (exempt municipality)";
  return {
    allIn: perKwh(billed.totalMicroPerKwh, c),
    allInSub: `all-in, ${vatIncluded}; taxes and ${billed.supportMicroPerKwh > 0n ? "Norgespris charge" : "support"} included`,
    spot: perKwh(billed.spotMicroPerKwh, c),
    spotSub: c === "NOK" ? "market price at today's EUR/NOK, ex VAT" : "market price, ex VAT",
    parts: [
      ["Energy (spot + markup)", billed.energyMicroPerKwh],
      ["Grid energy", billed.gridMicroPerKwh],
      ["Elavgift + Enova", billed.taxesMicroPerKwh],
      [billed.supportMicroPerKwh > 0n ? "Norgespris" : "State support", billed.supportMicroPerKwh],
      ["VAT", billed.vatMicroPerKwh],
    ].map(([label, micro]) => [label as string, perKwh(micro as bigint, c)] as const),
    fixed: forecast?.currency
      ? `${fmtMinor(forecast.capacityChargeMicroPerMonth / 10_000n, c)} capacity step + ${fmtMinor(forecast.supplierFeeMicroPerMonth / 10_000n, c)} supplier fee per month`
      : "",
  };
}

export function NextHourCard({ householdId, timeZone }: { householdId: string; timeZone?: string }) {
  const forecast = useHouseholdForecast(householdId);
  const next = forecast.data?.forecast?.nextHour;
  const start = tsDate(next?.hourStart);
  const end = start ? new Date(start.getTime() + 3_600_000) : undefined;
  return (
    <Card aria-labelledby="next-hour-title">
      <CardHeader id="next-hour-title" title="Next hour" description={start ? `${fmtHour(start, timeZone)}–${fmtHour(end, timeZone)}` : "Forecast"} />
      <CardBody>
        {forecast.isPending ? (
          <div className="grid grid-cols-2 gap-4">
            <Skeleton className="h-14" />
            <Skeleton className="h-14" />
          </div>
        ) : forecast.error ? (
          <ErrorState error={forecast.error} onRetry={() => void forecast.refetch()} />
        ) : !next ? (
          <p className="text-sm text-slate-500">No forecast available yet.</p>
        ) : (
          <>
          {next.billedPrice ? (
            <BilledPriceStats billed={next.billedPrice} forecast={forecast.data.forecast} kwh={next.consumptionKwh} />
          ) : (
          <dl className="grid grid-cols-2 gap-4">
            <Stat
              label="Spot price (market)"
              value={
                <>
                  {fmtNumber((next.price?.spotEurKwh ?? 0) * 100, 1)}
                  <span className="ml-1 text-sm font-medium text-slate-500">c/kWh</span>
                </>
              }
              sub="EUR, as the market clears it"
              testId="next-hour-price"
            />
            <Stat className="col-span-2" label="Expected use" valueClassName="text-sm font-medium text-slate-700" value={fmtKwh(next.consumptionKwh)} />
          </dl>
          )}
            <p className="mt-3 text-xs text-slate-600" data-testid="spot-definition">
              {SPOT_DEFINITION}
            </p>
          </>
        )}
      </CardBody>
    </Card>
  );
}

function BilledPriceStats({ billed, forecast, kwh }: { billed: BilledPrice; forecast: HouseholdForecast | undefined; kwh: number }) {
  const rows = billedRows(billed, forecast);
  return (
    <>
      <dl className="grid grid-cols-2 gap-4">
        <Stat label="Your price (as billed)" value={rows.allIn} sub={rows.allInSub} testId="next-hour-billed-price" />
        <Stat label="Spot price" value={rows.spot} sub={rows.spotSub} testId="next-hour-price" />
        <Stat className="col-span-2" label="Expected use" valueClassName="text-sm font-medium text-slate-700" value={fmtKwh(kwh)} />
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
          Fixed charges, apart: {rows.fixed}
        </p>
      )}
    </>
  );
}
