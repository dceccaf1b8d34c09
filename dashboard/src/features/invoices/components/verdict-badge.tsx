import { Badge } from "@/components/ui/badge";
import { CheckIcon, ClockIcon, XIcon } from "@/components/ui/icons";
import type { TxVerdict } from "@/lib/ledger/verify";

export function verdictKind(v: TxVerdict | undefined): "unchecked" | "pass" | "fail" | "pending" {
  if (!v) return "unchecked";
  if (v.hashValid && v.inclusionValid) return "pass";
  if (v.hashValid && v.pending) return "pending";
  return "fail";
}

export function VerdictBadge({ verdict }: { verdict: TxVerdict | undefined }) {
  const kind = verdictKind(verdict);
  if (kind === "unchecked") return <span className="text-xs text-slate-500">—</span>;
  if (kind === "pass")
    return (
      <Badge tone="good" title="Hash recomputed and proven into the signed head">
        <CheckIcon className="size-3.5" /> Verified
      </Badge>
    );
  if (kind === "pending")
    return (
      <Badge tone="warn" title={verdict?.reason}>
        <ClockIcon className="size-3.5" /> Pending
      </Badge>
    );
  return (
    <Badge tone="bad" title={verdict?.reason}>
      <XIcon className="size-3.5" /> {verdict?.hashValid ? "Not in ledger" : "Tampered"}
    </Badge>
  );
}
