/** A failed or waiting line says why in the page's words, not the verifier's technical English. */
import { describe, expect, it } from "vitest";

import type { TxVerdict } from "@/lib/ledger/verify";
import { CATALOGUES } from "@/test/catalogues";

import { verdictWhy } from "./verdict-badge";

const base: TxVerdict = { txHash: "aa", recomputedHash: "bb", hashValid: false, inclusionValid: false, pending: false, reason: "HASH_MISMATCH: the record does not hash to its transaction hash" };

describe("verdictWhy", () => {
  it("words the verdict's problem in the page's language", () => {
    expect(verdictWhy({ ...base, problem: "hash" }, CATALOGUES["nb-NO"].invoices.verdict)).toBe("Posten for denne linjen stemmer ikke med hashen sin: den er endret etter at den ble skrevet.");
    expect(verdictWhy({ ...base, hashValid: true, pending: true, problem: "pending" }, CATALOGUES["en-GB"].invoices.verdict)).toMatch(/^Not yet covered/);
  });

  it("falls back to the technical reason without a problem, and says nothing for a clean line", () => {
    expect(verdictWhy(base, CATALOGUES["nb-NO"].invoices.verdict)).toBe(base.reason);
    expect(verdictWhy({ ...base, hashValid: true, inclusionValid: true, reason: "" }, CATALOGUES["nb-NO"].invoices.verdict)).toBeUndefined();
  });
});
