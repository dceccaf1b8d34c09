/** One place that turns a verified head into words and colours (invoice page and explorer). */
import type { Tone } from "@/components/ui/badge";

import type { VerifiedHead } from "./use-verified-head";

export function signatureText(v: VerifiedHead): { label: string; tone: Tone } {
  if (!v.signature.keyIdMatches) return { label: "Key id does not match the public key", tone: "bad" };
  if (v.signature.signature === "valid") return { label: "Signature valid (Ed25519)", tone: "good" };
  if (v.signature.signature === "unsupported") return { label: "Signature not checked: this browser lacks Ed25519", tone: "warn" };
  return { label: "Signature INVALID", tone: "bad" };
}

export function consistencyText(v: VerifiedHead): { label: string; tone: Tone } {
  switch (v.consistency.status) {
    case "first-visit":
      return { label: "First head seen by this browser (now remembered)", tone: "info" };
    case "unchanged":
      return { label: "Same head as your last visit", tone: "good" };
    case "extended":
      return { label: "Consistent with the head you saw before", tone: "good" };
    case "rewritten":
      return { label: "HISTORY REWRITTEN since your last visit", tone: "bad" };
    case "rolled-back":
      return { label: "LEDGER ROLLED BACK since your last visit", tone: "bad" };
    case "key-changed":
      return { label: "SIGNING KEY CHANGED since your last visit", tone: "bad" };
  }
}
