import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtHour, fmtKwh, fmtNumber } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import { useHouseholdForecast } from "../api/predict-household";

/** What the spot figure is and is not: the bill's per-kWh and fixed parts are priced in NOK elsewhere. */
export const SPOT_DEFINITION =
  "Spot is the market price alone. Your bill adds the grid energy charge, taxes, VAT and state support per kWh, and fixed charges (the monthly capacity step, standing charges) on top: all in NOK in This month so far.";

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
              label="Spot price (market)"
              value={
                <>
                  {fmtNumber((next.price?.spotEurKwh ?? 0) * 100, 1)}
                  <span className="ml-1 text-sm font-medium text-slate-500">c/kWh</span>
                </>
              }
              sub="EUR, as the market clears it; your bill is in NOK (this month's card)"
              testId="next-hour-price"
            />
            <Stat className="col-span-2" label="Expected use" valueClassName="text-sm font-medium text-slate-700" value={fmtKwh(next.consumptionKwh)} />
          </dl>
            <p className="mt-3 text-xs text-slate-600" data-testid="spot-definition">
              {SPOT_DEFINITION}
            </p>
          </>
        )}
      </CardBody>
    </Card>
  );
}
