/** One place that turns a verified head into words and colours (invoice page and explorer). */
import type { Tone } from "@/components/ui/badge";
import { fmtInteger } from "@/lib/format";
import { messages } from "@/lib/i18n";

import type { VerifiedHead } from "./use-verified-head";

export function signatureText(v: VerifiedHead): { label: string; tone: Tone } {
  const t = messages().head;
  if (!v.signature.keyIdMatches) return { label: t.keyMismatch, tone: "bad" };
  if (v.signature.signature === "valid") return { label: t.signatureValid, tone: "good" };
  if (v.signature.signature === "unsupported") return { label: t.signatureUnsupported, tone: "warn" };
  return { label: t.signatureInvalid, tone: "bad" };
}

export function consistencyText(v: VerifiedHead): { label: string; tone: Tone } {
  const t = messages().head;
  switch (v.consistency.status) {
    case "first-visit":
      return { label: t.firstVisit, tone: "info" };
    case "unchanged":
      return { label: t.unchanged, tone: "good" };
    case "extended":
      return { label: t.extended, tone: "good" };
    case "rewritten":
      return { label: t.rewritten, tone: "bad" };
    case "rolled-back":
      return { label: t.rolledBack, tone: "bad" };
    case "key-changed":
      return { label: t.keyChanged, tone: "bad" };
  }
}

export function witnessText(v: VerifiedHead): { label: string; tone: Tone } {
  const t = messages().head;
  switch (v.witness.status) {
    case "witnessed":
      return { label: t.witnessed, tone: "good" };
    case "not-yet-witnessed":
      return { label: t.notYetWitnessed(fmtInteger(v.witness.witnessedSize ?? 0n)), tone: "warn" };
    case "forked":
      return { label: t.forked, tone: "bad" };
    case "not-witnessed":
      return { label: t.notWitnessed, tone: "bad" };
    case "not-configured":
      return v.keyPinned
        ? { label: t.noWitness, tone: "bad" }
        : { label: t.notPinned, tone: "warn" };
  }
}
