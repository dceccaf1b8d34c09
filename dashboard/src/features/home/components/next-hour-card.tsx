import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtEur, fmtHour, fmtKwh, fmtNumber } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import { useHouseholdForecast } from "../api/predict-household";

/** The one meaning of "all-in" across the dashboard: everything charged per kWh. */
export const ALL_IN_DEFINITION =
  "All-in = spot + grid energy charge + VAT, everything billed per kWh. Fixed charges (the monthly capacity step and the daily standing charge) come on top and are shown apart in This month so far.";

/** "spot 2.9 + grid 3.5 + VAT 1.6 c/kWh". */
export function allInBreakdown(price: { spotEurKwh: number; gridEnergyEurKwh: number; vatEurKwh: number } | undefined): string {
  const c = (eur: number | undefined) => fmtNumber((eur ?? 0) * 100, 1);
  return `spot ${c(price?.spotEurKwh)} + grid ${c(price?.gridEnergyEurKwh)} + VAT ${c(price?.vatEurKwh)} c/kWh`;
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
          <dl className="grid grid-cols-2 gap-4">
            <Stat
              label="All-in price per kWh"
              value={
                <>
                  {fmtNumber((next.price?.totalEurKwh ?? 0) * 100, 1)}
                  <span className="ml-1 text-sm font-medium text-slate-500">c/kWh</span>
                </>
              }
              sub={allInBreakdown(next.price)}
              testId="next-hour-price"
            />
            <Stat
              label="Expected cost"
              value={fmtEur(next.costP50Eur)}
              sub={`80% interval ${fmtEur(next.costP10Eur)} – ${fmtEur(next.costP90Eur)}`}
              testId="next-hour-cost"
            />
            <Stat className="col-span-2" label="Expected use" valueClassName="text-sm font-medium text-slate-700" value={fmtKwh(next.consumptionKwh)} />
          </dl>
            <p className="mt-3 text-xs text-slate-600" data-testid="all-in-definition">
              {ALL_IN_DEFINITION}
            </p>
          </>
        )}
      </CardBody>
    </Card>
  );
}
