import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import type { CostLine } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { fmtKwhIn, fmtMinor, fmtMonth } from "@/lib/format";

import { useMonthCost } from "../api/get-month-cost";

/** What each bill line is called on a Norwegian bill (and in English beside it). */
const LABELS: Record<string, string> = {
  spot_energy: "Spot energy (strøm)",
  supplier_markup: "Supplier markup (påslag)",
  supplier_fee: "Supplier monthly fee (fastbeløp)",
  grid_energy: "Grid energy (energiledd)",
  grid_capacity: "Capacity step (kapasitetsledd)",
  elavgift: "Consumption tax (elavgift)",
  enova: "Enova fee",
  stromstotte: "State support (strømstøtte)",
  norgespris: "Norgespris settlement",
  export_credit: "Exported energy (plusskunde)",
};

function lineTotal(line: CostLine): bigint {
  return line.amountMinor + line.vatMinor;
}

/** "elavgift from 2027-01-01" as a household reads it. */
function rateWords(entry: string): string {
  const [item = entry, from = ""] = entry.split(" from ");
  const names: Record<string, string> = { supplier: "default supplier contract", stromstotte: "strømstøtte", norgespris: "Norgespris", elavgift: "elavgift", enova: "Enova fee" };
  const name = item.startsWith("grid/") ? `${item.slice(5)} grid tariff` : (names[item] ?? item);
  return from ? `${name} (rate from ${from})` : name;
}

/** A line on a rate nobody checked against a published source: say so, and which. */
export function ProvisionalBadge({ line }: { line: CostLine }) {
  if (line.unverifiedRates.length === 0) return null;
  const which = line.unverifiedRates.map(rateWords).join("; ");
  return (
    <Badge tone="warn" className="ml-2" title={`Not yet checked against a published rate: ${which}`}>
      provisional<span className="sr-only">: not yet checked against a published rate: {which}</span>
    </Badge>
  );
}

export function MonthCostCard({ householdId }: { householdId: string }) {
  const cost = useMonthCost(householdId);
  return (
    <Card aria-labelledby="month-cost-title">
      <CardHeader
        id="month-cost-title"
        title="This month so far"
        description={cost.data ? `${fmtMonth(cost.data.month)} · day ${cost.data.throughDay} of ${cost.data.daysInMonth}` : "Settled hours, every component"}
      />
      <CardBody>
        {cost.isPending ? (
          <Skeleton className="h-48" />
        ) : cost.error ? (
          <ErrorState error={cost.error} onRetry={() => void cost.refetch()} />
        ) : (
          <div className="space-y-4">
            <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3">
              <Stat label="So far, VAT incl." value={fmtMinor(cost.data.totalMinor, cost.data.currency)} sub={`${fmtKwhIn(cost.data.importKwh)} · VAT ${fmtMinor(cost.data.vatMinor, cost.data.currency)}`} testId="month-cost-total" />
              <Stat
                label="Projected month end"
                value={cost.data.projection ? fmtMinor(cost.data.projection.p50Minor, cost.data.currency) : "–"}
                sub={cost.data.projection ? `P10–P90 ${fmtMinor(cost.data.projection.p10Minor, cost.data.currency)} – ${fmtMinor(cost.data.projection.p90Minor, cost.data.currency)}` : "no projection for a past month"}
                testId="month-cost-projection"
              />
              <Stat label="Last month" value={fmtMinor(cost.data.lastMonthTotalMinor, cost.data.currency)} sub={cost.data.scheme === "norgespris" ? "on Norgespris" : "on spot"} testId="month-cost-last" />
            </dl>
            <table className="w-full text-sm" aria-label="Bill lines">
              <thead>
                <tr className="text-left text-xs text-slate-500">
                  <th scope="col" className="py-1 font-medium">Component</th>
                  <th scope="col" className="py-1 text-right font-medium">ex VAT</th>
                  <th scope="col" className="py-1 text-right font-medium">VAT incl.</th>
                </tr>
              </thead>
              <tbody>
                {cost.data.lines
                  .filter((line) => line.amountMinor !== 0n || line.vatMinor !== 0n)
                  .map((line) => (
                    <tr key={line.name} className="border-t border-slate-100" data-line={line.name}>
                      <th scope="row" className="py-1 text-left font-normal text-slate-700">
                        {LABELS[line.name] ?? line.name}
                        <ProvisionalBadge line={line} />
                      </th>
                      <td className="py-1 text-right tabular-nums">{fmtMinor(line.amountMinor, cost.data.currency)}</td>
                      <td className="py-1 text-right tabular-nums">{fmtMinor(lineTotal(line), cost.data.currency)}</td>
                    </tr>
                  ))}
              </tbody>
              <tfoot>
                <tr className="border-t border-slate-300 font-semibold">
                  <th scope="row" className="py-1 text-left">Total</th>
                  <td className="py-1 text-right tabular-nums">{fmtMinor(cost.data.totalMinor - cost.data.vatMinor, cost.data.currency)}</td>
                  <td className="py-1 text-right tabular-nums">{fmtMinor(cost.data.totalMinor, cost.data.currency)}</td>
                </tr>
              </tfoot>
            </table>
            <p className="text-xs text-slate-500">
              Each line is rounded to the øre; the total is their sum. The band comes from simulated price and consumption paths for the rest of the month.
            </p>
            {cost.data.lines.some((line) => line.unverifiedRates.length > 0 && (line.amountMinor !== 0n || line.vatMinor !== 0n)) && (
              <p className="text-xs text-amber-800" data-testid="month-cost-provisional">
                Lines marked provisional use a rate that has not been checked against a published source (for example a year&apos;s rate carried over until the new one is published); they may be corrected once the rate is known.
              </p>
            )}
          </div>
        )}
      </CardBody>
    </Card>
  );
}
