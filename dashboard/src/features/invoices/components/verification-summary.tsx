import { Badge } from "@/components/ui/badge";
import { AlertIcon, ShieldIcon } from "@/components/ui/icons";
import { cn } from "@/lib/cn";
import { fmtInteger, shortHash } from "@/lib/format";
import { consistencyText, signatureText } from "@/lib/ledger/head-status";
import { messages, useT } from "@/lib/i18n";

import type { InvoiceVerification } from "../api/verify-invoice";

/**
 * The verdict of "Verify": verified-complete only when every line (and meter key and correction)
 * is proven into a trusted head AND the month is complete: every period billed or still open, no
 * problem with the count, the chain, the totals or a correction. A missing period, or records this
 * caller cannot see (completeness unchecked), is never shown as verified-complete.
 */
export function VerificationSummary({ result }: { result: InvoiceVerification }) {
  const t = useT().invoices.summary;
  const sig = signatureText(result.head);
  const cons = consistencyText(result.head);
  const integrity = result.failed === 0 && result.head.trusted;
  const check = result.completeness;
  const complete = check?.complete === true;
  const ok = integrity && complete;
  const missing = check?.missing.length ?? 0;
  const problems = check?.problems.length ?? 0;
  const headline = !integrity
    ? result.failed > 0
      ? t.failed(result.failed, result.verdicts.size)
      : t.untrusted
    : complete
      ? t.complete(result.passed)
      : t.incomplete(result.passed);
  const why = !check
    ? t.hidden
    : [missing > 0 && messages().invoices.periods.missing(missing), problems > 0 && messages().invoices.periods.problems(problems)].filter(Boolean).join(" · ");
  return (
    <div
      role="status"
      data-testid="verify-summary"
      data-ok={ok}
      data-integrity={integrity}
      data-complete={complete}
      className={cn("rounded-xl p-4 ring-1", ok ? "bg-emerald-50 ring-emerald-200" : integrity ? "bg-amber-50 ring-amber-200" : "bg-rose-50 ring-rose-200")}
    >
      <div className="flex items-start gap-3">
        <div className={cn("mt-0.5", ok ? "text-emerald-600" : integrity ? "text-amber-600" : "text-rose-600")}>{ok ? <ShieldIcon /> : <AlertIcon />}</div>
        <div className="min-w-0 flex-1">
          <p className={cn("text-sm font-semibold", ok ? "text-emerald-900" : integrity ? "text-amber-900" : "text-rose-900")}>
            {headline}
            {result.pending > 0 && t.pending(result.pending)}
          </p>
          {!complete && why && <p className="mt-1 text-xs font-medium text-amber-900">{why}</p>}
          <p className="mt-1 text-xs text-slate-600">
            {t.how(fmtInteger(result.head.head.treeSize))}
            <span className="font-mono">{shortHash(result.head.head.rootHash)}</span>
            {t.howEnd}
          </p>
          <div className="mt-2 flex flex-wrap gap-2">
            <Badge tone={sig.tone}>{sig.label}</Badge>
            <Badge tone={cons.tone}>{cons.label}</Badge>
          </div>
        </div>
      </div>
    </div>
  );
}
