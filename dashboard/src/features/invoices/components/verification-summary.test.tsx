/**
 * The "Verify" summary judges the lines AND the month's completeness: every line proven but a
 * period missing is not "verified complete" (data-ok false, says why); all proven and complete is.
 */
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import type { VerifiedHead } from "@/lib/ledger/use-verified-head";
import type { InvoiceCompleteness } from "@/lib/ledger/metering";

import type { InvoiceVerification } from "../api/verify-invoice";
import { VerificationSummary } from "./verification-summary";

const head = {
  trusted: true,
  head: { treeSize: 10n, rootHash: "ab".repeat(32) },
  signature: { keyIdMatches: true, signature: "valid" },
  consistency: { status: "unchanged" },
} as unknown as VerifiedHead;

function result(completeness: InvoiceCompleteness | undefined): InvoiceVerification {
  return { head, verdicts: new Map(), passed: 3, failed: 0, pending: 0, completeness };
}

const complete: InvoiceCompleteness = { legacy: false, periodMs: 900_000n, expected: 3, settled: 3, missing: [], open: 0, problems: [], complete: true, corrections: [], reasons: [] };

describe("VerificationSummary", () => {
  it("is verified complete only when the lines pass and every period is accounted for", () => {
    const html = renderToStaticMarkup(<VerificationSummary result={result(complete)} />);
    expect(html).toContain('data-ok="true"');
    expect(html).toContain("the month is complete");
  });

  it("is not verified complete with a missing period, though every line passed", () => {
    const gap = { ...complete, settled: 2, missing: [1_767_225_600_000n], complete: false };
    const html = renderToStaticMarkup(<VerificationSummary result={result(gap)} />);
    expect(html).toContain('data-ok="false"');
    expect(html).toContain('data-integrity="true"');
    expect(html).toContain("NOT verified complete");
    expect(html).toContain("1 settlement period missing");
  });

  it("is not verified complete when completeness could not be checked", () => {
    const html = renderToStaticMarkup(<VerificationSummary result={result(undefined)} />);
    expect(html).toContain('data-ok="false"');
    expect(html).toContain("completeness not checked");
  });
});
