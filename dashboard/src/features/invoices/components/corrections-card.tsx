import { Card, CardBody, CardHeader } from "@/components/ui/card";
import type { Invoice } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import type { Transaction } from "@/gen/energypulse/ledger/v1/record_pb";
import { fmtDateTime, fmtMinor, shortHash } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { useT } from "@/lib/i18n";

import type { verdictKind } from "./verdict-badge";

/** The month's operator corrections (spec §17.6): when, how much, why and who; each a ledger
 * transaction proven like a line. The lines they correct stay as they were billed. */
export function CorrectionsCard({ inv, verdictOf }: { inv: Invoice; verdictOf: (tx: Transaction) => ReturnType<typeof verdictKind> }) {
  // Micro-units of the record's currency (EUR or NOK, spec §17.7), shown in its minor units.
  const t = useT().invoices.corrections;
  const money = (micro: bigint, currency: string) => fmtMinor(micro / 10_000n, currency);
  const currencies = new Set(inv.corrections.map((tx) => (tx.record?.content.case === "correction" ? tx.record.content.value.currency : "")));
  const totalCurrency = currencies.size === 1 ? [...currencies][0] : "";
  return (
    <Card aria-labelledby="corrections-title">
      <CardHeader
        id="corrections-title"
        title={t.title}
        description={t.description(totalCurrency ? money(inv.correctionTotalMicroEur, totalCurrency) : t.mixedTotal)}
      />
      <CardBody>
        <ul className="space-y-2 text-sm" data-testid="invoice-corrections">
          {inv.corrections.map((tx) => {
            const c = tx.record?.content.case === "correction" ? tx.record.content.value : undefined;
            return (
              <li key={tx.txHash} data-testid="invoice-correction" data-tx={tx.txHash} data-verdict={verdictOf(tx)} className="rounded-lg bg-slate-50 p-3">
                <p className="font-medium text-slate-900">
                  {c ? t.on(money(c.amountMicro, c.currency), fmtDateTime(tsDate(c.periodStart))) : t.hidden}
                </p>
                {c && (
                  <p className="mt-1 text-slate-700">
                    <span data-testid="correction-reason">{c.reason}</span> · {t.by} <span data-testid="correction-operator">{c.operator}</span>
                  </p>
                )}
                <p className="mt-1 font-mono text-xs text-slate-500">
                  {shortHash(tx.txHash)} · {fmtDateTime(tsDate(tx.appendTime))}
                </p>
              </li>
            );
          })}
        </ul>
      </CardBody>
    </Card>
  );
}
