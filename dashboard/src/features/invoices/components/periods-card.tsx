import { Badge } from "@/components/ui/badge";
import { Card, CardBody } from "@/components/ui/card";
import type { Invoice } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { fmtDateTime } from "@/lib/format";
import { useT } from "@/lib/i18n";
import { type InvoiceCompleteness, type MissingReason, NOT_SETTLED } from "@/lib/ledger/metering";
import { tsMs } from "@/lib/proto-json";

/** The missing periods grouped by reason, in the order each reason first occurs. */
function byReason(reasons: MissingReason[]): [string, MissingReason[]][] {
  const groups = new Map<string, MissingReason[]>();
  for (const r of reasons) groups.set(r.reason, [...(groups.get(r.reason) ?? []), r]);
  return [...groups.entries()];
}

/** Whether the month is meter-signed, and the periods the ledger (and, once verified, the browser) found unbilled. */
export function PeriodsCard({ inv, completeness: check }: { inv: Invoice; completeness: InvoiceCompleteness | undefined }) {
  const t = useT().invoices.periods;
  const missing = check ? check.missing.length : inv.missingPeriods.length;
  // Once verified, the reasons come from the proven unbilled-period records; before, as the ledger lists them.
  const reasons: MissingReason[] = check
    ? check.reasons
    : inv.missingPeriods.map((m) => ({ startMs: tsMs(m.periodStart), reason: m.reason || NOT_SETTLED, detail: m.detail, txHash: m.txHash }));
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
          <ul className="mt-2 space-y-1 text-xs text-slate-600" data-testid="invoice-missing-reasons" data-verified={check !== undefined}>
            {byReason(reasons).map(([reason, periods]) => (
              <li key={reason} data-reason={reason} data-count={periods.length}>
                <span className="font-medium">{t.notBilledBecause(t.reasons[reason] ?? reason, periods.length)}</span>{" "}
                {periods
                  .slice(0, 8)
                  .map((m) => fmtDateTime(new Date(Number(m.startMs))))
                  .join(", ")}
                {periods.length > 8 && " …"}
                {periods[0]?.detail && <span className="text-slate-500">{` — ${periods[0].detail}`}</span>}
              </li>
            ))}
          </ul>
        )}
      </CardBody>
    </Card>
  );
}

