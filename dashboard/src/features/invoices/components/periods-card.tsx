import { Badge } from "@/components/ui/badge";
import { Card, CardBody } from "@/components/ui/card";
import type { Invoice } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { fmtDateTime } from "@/lib/format";
import type { InvoiceCompleteness } from "@/lib/ledger/metering";
import { tsDate } from "@/lib/proto-json";

/** Whether the month is meter-signed, and the periods the ledger (and, once verified, the browser) found unbilled. */
export function PeriodsCard({ inv, completeness: check }: { inv: Invoice; completeness: InvoiceCompleteness | undefined }) {
  const missing = check ? check.missing.length : inv.missingPeriods.length;
  return (
    <Card>
      <CardBody>
        <div className="flex flex-wrap items-center gap-2" data-testid="invoice-periods-card" data-legacy={inv.legacy} data-missing={missing} data-complete={check?.complete}>
          <Badge tone={inv.legacy ? "neutral" : "good"}>{inv.legacy ? "legacy: not meter-signed" : "meter-signed"}</Badge>
          {missing > 0 ? (
            <Badge tone="bad">{`${missing.toString()} settlement periods missing`}</Badge>
          ) : (
            <Badge tone="good">every period accounted for</Badge>
          )}
          {check && check.problems.length > 0 && <Badge tone="bad">{`${check.problems.length.toString()} problems`}</Badge>}
        </div>
        {check && check.problems.length > 0 && (
          <ul className="mt-2 list-disc pl-5 text-xs text-rose-800" data-testid="invoice-problems">
            {check.problems.slice(0, 10).map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        )}
        {!inv.legacy && missing > 0 && (
          <p className="mt-2 text-xs text-slate-600">
            Not billed (no meter-signed values reached the ledger):{" "}
            {inv.missingPeriods
              .slice(0, 8)
              .map((m) => fmtDateTime(tsDate(m.periodStart)))
              .join(", ")}
            {inv.missingPeriods.length > 8 && " …"}
          </p>
        )}
      </CardBody>
    </Card>
  );
}

