import { Badge } from "@/components/ui/badge";
import { Card, CardBody } from "@/components/ui/card";
import type { Invoice } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { fmtDateTime } from "@/lib/format";
import type { InvoiceCompleteness } from "@/lib/ledger/metering";
import { tsDate } from "@/lib/proto-json";
import { useT } from "@/lib/i18n";

/** Whether the month is meter-signed, and the periods the ledger (and, once verified, the browser) found unbilled. */
export function PeriodsCard({ inv, completeness: check }: { inv: Invoice; completeness: InvoiceCompleteness | undefined }) {
  const t = useT().invoices.periods;
  const missing = check ? check.missing.length : inv.missingPeriods.length;
  return (
    <Card>
      <CardBody>
        <div className="flex flex-wrap items-center gap-2" data-testid="invoice-periods-card" data-legacy={inv.legacy} data-missing={missing} data-complete={check?.complete}>
          <Badge tone={inv.legacy ? "neutral" : "good"}>{inv.legacy ? t.legacy : t.signed}</Badge>
          {missing > 0 ? (
            <Badge tone="bad">{t.missing(missing)}</Badge>
          ) : (
            <Badge tone="good">{t.complete}</Badge>
          )}
          {check && check.problems.length > 0 && <Badge tone="bad">{t.problems(check.problems.length)}</Badge>}
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
            {t.notBilled}{" "}
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

