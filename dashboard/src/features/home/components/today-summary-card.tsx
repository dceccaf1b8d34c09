import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtEur, fmtKwh, fmtRelative } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import { useHouseholdSummary } from "../api/get-household-summary";

/** What today's cost holds, beside the per-kWh "all-in" price that leaves the fixed charges out. */
export const FIXED_INCLUDED = "settled + running hour, incl. today's share of fixed charges (capacity, standing)";

export function TodaySummaryCard({ householdId }: { householdId: string }) {
  const summary = useHouseholdSummary(householdId);
  return (
    <Card aria-labelledby="today-title">
      <CardHeader id="today-title" title="Today so far" description="Since local midnight" />
      <CardBody>
        {summary.isPending ? (
          <div className="grid grid-cols-2 gap-4">
            <Skeleton className="h-14" />
            <Skeleton className="h-14" />
          </div>
        ) : summary.error ? (
          <ErrorState error={summary.error} onRetry={() => void summary.refetch()} />
        ) : (
          <dl className="grid grid-cols-2 gap-4">
            <Stat label="Energy" value={fmtKwh(summary.data.todayKwh)} testId="today-kwh" />
            <Stat label="Cost" value={fmtEur(summary.data.todayCostEur)} sub={FIXED_INCLUDED} testId="today-cost" />
            <Stat
              className="col-span-2"
              label="Last reading"
              valueClassName="text-sm font-medium text-slate-700"
              value={summary.data.lastReadTime ? fmtRelative(tsDate(summary.data.lastReadTime)) : "No readings yet"}
            />
          </dl>
        )}
      </CardBody>
    </Card>
  );
}
