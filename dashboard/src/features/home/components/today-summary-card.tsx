import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtDate, fmtKwh, fmtMinor, fmtRelative } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { useT } from "@/lib/i18n";

import { useHouseholdSummary } from "../api/get-household-summary";

export function TodaySummaryCard({ householdId }: { householdId: string }) {
  const t = useT();
  const summary = useHouseholdSummary(householdId);
  return (
    <Card aria-labelledby="today-title">
      <CardHeader id="today-title" title={t.home.today.title} description={t.home.today.since} />
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
            <Stat label={t.home.today.energy} value={fmtKwh(summary.data.todayKwh)} testId="today-kwh" />
            <Stat label={t.home.today.cost} value={fmtMinor(summary.data.todayCostMinor, summary.data.currency)} sub={t.home.today.costSub} testId="today-cost" />
            <Stat
              className="col-span-2"
              label={t.home.today.lastReading}
              valueClassName="text-sm font-medium text-slate-700"
              value={summary.data.lastReadTime ? fmtRelative(tsDate(summary.data.lastReadTime)) : t.home.today.noReadings}
            />
            {summary.data.firstReadTime ? (
              <Stat
                className="col-span-2"
                label={t.home.today.dataSince}
                valueClassName="text-sm font-medium text-slate-700"
                value={fmtDate(tsDate(summary.data.firstReadTime))}
                sub={t.home.today.dataSinceSub}
                testId="data-since"
              />
            ) : null}
          </dl>
        )}
      </CardBody>
    </Card>
  );
}
