import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtDate, fmtKwh, fmtMinor, fmtRelative } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import { useHouseholdSummary } from "../api/get-household-summary";

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
            <Stat label="Cost" value={fmtMinor(summary.data.todayCostMinor, summary.data.currency)} sub="settled periods, every part of the bill" testId="today-cost" />
            <Stat
              className="col-span-2"
              label="Last reading"
              valueClassName="text-sm font-medium text-slate-700"
              value={summary.data.lastReadTime ? fmtRelative(tsDate(summary.data.lastReadTime)) : "No readings yet"}
            />
            {summary.data.firstReadTime ? (
              <Stat
                className="col-span-2"
                label="Data since"
                valueClassName="text-sm font-medium text-slate-700"
                value={fmtDate(tsDate(summary.data.firstReadTime))}
                sub="the first reading of this household; nothing is shown before it"
                testId="data-since"
              />
            ) : null}
          </dl>
        )}
      </CardBody>
    </Card>
  );
}
