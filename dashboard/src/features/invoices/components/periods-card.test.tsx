/**
 * The invoice page's completeness verdict: a meter-signed month with a period that is neither
 * billed nor listed is flagged, and a legacy month shows "legacy: not meter-signed".
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { InvoiceSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import type { InvoiceCompleteness } from "@/lib/ledger/metering";

import { PeriodsCard } from "./periods-card";

const START = 1_767_225_600_000;

describe("PeriodsCard", () => {
  it("flags a missing period the browser found", () => {
    const inv = create(InvoiceSchema, { legacy: false, missingPeriods: [{ periodStart: timestampFromMs(START + 1_800_000), reason: "NOT_SETTLED" }] });
    const check: InvoiceCompleteness = { legacy: false, periodMs: 900_000n, expected: 3, settled: 2, missing: [BigInt(START + 1_800_000)], open: 0, problems: [], complete: false, corrections: [] };
    const html = renderToStaticMarkup(<PeriodsCard inv={inv} completeness={check} />);
    expect(html).toContain('data-missing="1"');
    expect(html).toContain('data-complete="false"');
    expect(html).toContain("1 settlement period missing");
    expect(html).toContain("meter-signed");
  });

  it("shows a legacy month as not meter-signed, and problems when there are any", () => {
    const inv = create(InvoiceSchema, { legacy: true });
    const check: InvoiceCompleteness = { legacy: true, periodMs: 3_600_000n, expected: 1, settled: 1, missing: [], open: 0, problems: ["the invoice totals are not the sum of its lines"], complete: false, corrections: [] };
    const html = renderToStaticMarkup(<PeriodsCard inv={inv} completeness={check} />);
    expect(html).toContain("legacy: not meter-signed");
    expect(html).toContain("the invoice totals are not the sum of its lines");
  });
});
