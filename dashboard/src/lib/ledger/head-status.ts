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

export function witnessText(v: VerifiedHead): { label: string; tone: Tone } {
  switch (v.witness.status) {
    case "witnessed":
      return { label: "Cosigned by the witness", tone: "good" };
    case "not-yet-witnessed":
      return { label: `No witness has seen this head yet (witnessed up to ${v.witness.witnessedSize ?? 0n})`, tone: "warn" };
    case "forked":
      return { label: "FORKED: this head is not the one the witness saw", tone: "bad" };
    case "not-witnessed":
      return { label: "No valid witness cosignature", tone: "bad" };
    case "not-configured":
      return v.keyPinned
        ? { label: "No witness configured in this build", tone: "bad" }
        : { label: "Ledger key not pinned in this build: trusted on first use only", tone: "warn" };
  }
}
