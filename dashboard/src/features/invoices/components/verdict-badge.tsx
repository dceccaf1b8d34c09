import { Badge } from "@/components/ui/badge";
import { CheckIcon, ClockIcon, XIcon } from "@/components/ui/icons";
import type { TxVerdict } from "@/lib/ledger/verify";
import { useT, type Messages } from "@/lib/i18n";

export function verdictKind(v: TxVerdict | undefined): "unchecked" | "pass" | "fail" | "pending" {
  if (!v) return "unchecked";
  if (v.hashValid && v.inclusionValid) return "pass";
  if (v.hashValid && v.pending) return "pending";
  return "fail";
}

/** Why a line failed or waits, in the page's words (the verdict's `reason` is technical English). */
export function verdictWhy(v: TxVerdict | undefined, t: Messages["invoices"]["verdict"]): string | undefined {
  return v?.problem ? t.why[v.problem] : v?.reason || undefined;
}

export function VerdictBadge({ verdict }: { verdict: TxVerdict | undefined }) {
  const t = useT().invoices.verdict;
  const kind = verdictKind(verdict);
  if (kind === "unchecked") return <span className="text-xs text-slate-500">—</span>;
  if (kind === "pass")
    return (
      <Badge tone="good" title={t.verifiedTitle}>
        <CheckIcon className="size-3.5" /> {t.verified}
      </Badge>
    );
  if (kind === "pending")
    return (
      <Badge tone="warn" title={verdictWhy(verdict, t)}>
        <ClockIcon className="size-3.5" /> {t.pending}
      </Badge>
    );
  return (
    <Badge tone="bad" title={verdictWhy(verdict, t)}>
      <XIcon className="size-3.5" /> {verdict?.hashValid ? t.notInLedger : t.tampered}
    </Badge>
  );
}
