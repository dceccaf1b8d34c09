import { Card, CardBody, CardHeader } from "@/components/ui/card";
import type { Invoice } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import type { Transaction } from "@/gen/energypulse/ledger/v1/record_pb";
import { fmtDateTime, fmtEur, microToEur, shortHash } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

import type { verdictKind } from "./verdict-badge";

/** The month's operator corrections (spec §17.6): when, how much, why and who; each a ledger
 * transaction proven like a line. The lines they correct stay as they were billed. */
export function CorrectionsCard({ inv, verdictOf }: { inv: Invoice; verdictOf: (tx: Transaction) => ReturnType<typeof verdictKind> }) {
  return (
    <Card aria-labelledby="corrections-title">
      <CardHeader
        id="corrections-title"
        title="Operator corrections"
        description={`Made by an administrator, with the reason, on the ledger. Total ${fmtEur(microToEur(inv.correctionTotalMicroEur))}.`}
      />
      <CardBody>
        <ul className="space-y-2 text-sm" data-testid="invoice-corrections">
          {inv.corrections.map((tx) => {
            const c = tx.record?.content.case === "correction" ? tx.record.content.value : undefined;
            return (
              <li key={tx.txHash} data-testid="invoice-correction" data-tx={tx.txHash} data-verdict={verdictOf(tx)} className="rounded-lg bg-slate-50 p-3">
                <p className="font-medium text-slate-900">
                  {c ? `${fmtEur(microToEur(c.amountMicro))} on the period of ${fmtDateTime(tsDate(c.periodStart))}` : "correction (record hidden)"}
                </p>
                {c && (
                  <p className="mt-1 text-slate-700">
                    <span data-testid="correction-reason">{c.reason}</span> · by <span data-testid="correction-operator">{c.operator}</span>
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
