import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import type { CostLine } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { fmtKwhIn, fmtMinor, fmtMonth } from "@/lib/format";
import { messages, useT } from "@/lib/i18n";

import { useMonthCost } from "../api/get-month-cost";

function lineTotal(line: CostLine): bigint {
  return line.amountMinor + line.vatMinor;
}

/** "elavgift from 2027-01-01" as a household reads it. */
function rateWords(entry: string): string {
  const t = messages().home.month;
  const [item = entry, from = ""] = entry.split(" from ");
  const name = item.startsWith("grid/") ? t.gridTariff(item.slice(5)) : (t.rateNames[item] ?? item);
  return from ? t.rateFrom(name, from) : name;
}

/** A line on a rate nobody checked against a published source: say so, and which. */
export function ProvisionalBadge({ line }: { line: CostLine }) {
  const t = useT();
  if (line.unverifiedRates.length === 0) return null;
  const which = line.unverifiedRates.map(rateWords).join("; ");
  return (
    <Badge tone="warn" className="ml-2" title={t.home.month.notChecked(which)}>
      {t.home.month.provisional}<span className="sr-only">{t.home.month.notCheckedSr(which)}</span>
    </Badge>
  );
}

export function MonthCostCard({ householdId }: { householdId: string }) {
  const t = useT();
  const cost = useMonthCost(householdId);
  return (
    <Card aria-labelledby="month-cost-title">
      <CardHeader
        id="month-cost-title"
        title={t.home.month.title}
        description={cost.data ? t.home.month.dayOf(fmtMonth(cost.data.month), cost.data.throughDay, cost.data.daysInMonth) : t.home.month.settled}
      />
      <CardBody>
        {cost.isPending ? (
          <Skeleton className="h-48" />
        ) : cost.error ? (
          <ErrorState error={cost.error} onRetry={() => void cost.refetch()} />
        ) : (
          <div className="space-y-4">
            <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3">
              <Stat label={t.home.month.soFar} value={fmtMinor(cost.data.totalMinor, cost.data.currency)} sub={`${fmtKwhIn(cost.data.importKwh)} · ${t.common.vat} ${fmtMinor(cost.data.vatMinor, cost.data.currency)}`} testId="month-cost-total" />
              <Stat
                label={t.home.month.projected}
                value={cost.data.projection ? fmtMinor(cost.data.projection.p50Minor, cost.data.currency) : "–"}
                sub={cost.data.projection ? `P10–P90 ${fmtMinor(cost.data.projection.p10Minor, cost.data.currency)} – ${fmtMinor(cost.data.projection.p90Minor, cost.data.currency)}` : t.home.month.noProjection}
                testId="month-cost-projection"
              />
              <Stat label={t.home.month.lastMonth} value={fmtMinor(cost.data.lastMonthTotalMinor, cost.data.currency)} sub={cost.data.scheme === "norgespris" ? t.home.month.onNorgespris : t.home.month.onSpot} testId="month-cost-last" />
            </dl>
            <table className="w-full text-sm" aria-label={t.home.month.billLines}>
              <thead>
                <tr className="text-left text-xs text-slate-500">
                  <th scope="col" className="py-1 font-medium">{t.home.month.component}</th>
                  <th scope="col" className="py-1 text-right font-medium">{t.common.exVat}</th>
                  <th scope="col" className="py-1 text-right font-medium">{t.common.vatIncl}</th>
                </tr>
              </thead>
              <tbody>
                {cost.data.lines
                  .filter((line) => line.amountMinor !== 0n || line.vatMinor !== 0n)
                  .map((line) => (
                    <tr key={line.name} className="border-t border-slate-100" data-line={line.name}>
                      <th scope="row" className="py-1 text-left font-normal text-slate-700">
                        {t.home.lines[line.name] ?? line.name}
                        <ProvisionalBadge line={line} />
                      </th>
                      <td className="py-1 text-right tabular-nums">{fmtMinor(line.amountMinor, cost.data.currency)}</td>
                      <td className="py-1 text-right tabular-nums">{fmtMinor(lineTotal(line), cost.data.currency)}</td>
                    </tr>
                  ))}
              </tbody>
              <tfoot>
                <tr className="border-t border-slate-300 font-semibold">
                  <th scope="row" className="py-1 text-left">{t.common.total}</th>
                  <td className="py-1 text-right tabular-nums">{fmtMinor(cost.data.totalMinor - cost.data.vatMinor, cost.data.currency)}</td>
                  <td className="py-1 text-right tabular-nums">{fmtMinor(cost.data.totalMinor, cost.data.currency)}</td>
                </tr>
              </tfoot>
            </table>
            <p className="text-xs text-slate-500">
              {t.home.month.rounding}
            </p>
            {cost.data.lines.some((line) => line.unverifiedRates.length > 0 && (line.amountMinor !== 0n || line.vatMinor !== 0n)) && (
              <p className="text-xs text-amber-800" data-testid="month-cost-provisional">
                {t.home.month.provisionalNote}
              </p>
            )}
          </div>
        )}
      </CardBody>
    </Card>
  );
}
