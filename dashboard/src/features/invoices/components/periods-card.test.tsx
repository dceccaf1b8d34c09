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
    const check: InvoiceCompleteness = { legacy: false, periodMs: 900_000n, expected: 3, settled: 2, missing: [BigInt(START + 1_800_000)], open: 0, problems: [], complete: false, corrections: [], reasons: [{ startMs: BigInt(START + 1_800_000), reason: "NOT_SETTLED", detail: "", txHash: "" }] };
    const html = renderToStaticMarkup(<PeriodsCard inv={inv} completeness={check} />);
    expect(html).toContain('data-missing="1"');
    expect(html).toContain('data-complete="false"');
    expect(html).toContain("1 settlement period missing");
    expect(html).toContain("meter-signed");
  });

  it("shows a legacy month as not meter-signed, and problems when there are any", () => {
    const inv = create(InvoiceSchema, { legacy: true });
    const check: InvoiceCompleteness = { legacy: true, periodMs: 3_600_000n, expected: 1, settled: 1, missing: [], open: 0, problems: ["the invoice totals are not the sum of its lines"], complete: false, corrections: [], reasons: [] };
    const html = renderToStaticMarkup(<PeriodsCard inv={inv} completeness={check} />);
    expect(html).toContain("legacy: not meter-signed");
    expect(html).toContain("the invoice totals are not the sum of its lines");
  });

  it("says why each missing period was not billed: the ledger's reasons, then the verified ones", () => {
    const at = (i: number) => timestampFromMs(START + i * 900_000);
    const inv = create(InvoiceSchema, {
      legacy: false,
      missingPeriods: [
        { periodStart: at(2), reason: "NOT_SIGNED", detail: "no signed value of m-1 at the period end", txHash: "aa" },
        { periodStart: at(3), reason: "NOT_SIGNED", detail: "no signed value of m-1 at the period end", txHash: "aa" },
        { periodStart: at(4), reason: "NO_READINGS", detail: "no reading of m-1 over the period", txHash: "bb" },
        { periodStart: at(5), reason: "NOT_SETTLED" },
      ],
    });
    const before = renderToStaticMarkup(<PeriodsCard inv={inv} completeness={undefined} />);
    expect(before).toContain('data-verified="false"');
    expect(before).toContain('data-reason="NOT_SIGNED" data-count="2"');
    expect(before).toContain("Not billed, meter values not signed (2):");
    expect(before).toContain("no signed value of m-1 at the period end");
    expect(before).toContain('data-reason="NO_READINGS" data-count="1"');
    expect(before).toContain("Not billed, no readings from the meter (1):");
    expect(before).toContain("Not billed, no reason on the ledger (1):");

    // Verified: the browser's reasons (from the proven records) are shown, not the server's list.
    const check: InvoiceCompleteness = {
      legacy: false,
      periodMs: 900_000n,
      expected: 6,
      settled: 4,
      missing: [BigInt(START + 2 * 900_000), BigInt(START + 3 * 900_000)],
      open: 0,
      problems: [],
      complete: false,
      corrections: [],
      reasons: [
        { startMs: BigInt(START + 2 * 900_000), reason: "IMPLAUSIBLE_ENERGY", detail: "m-1: 20200 Wh", txHash: "cc" },
        { startMs: BigInt(START + 3 * 900_000), reason: "IMPLAUSIBLE_ENERGY", detail: "m-1: 20200 Wh", txHash: "cc" },
      ],
    };
    const after = renderToStaticMarkup(<PeriodsCard inv={inv} completeness={check} />);
    expect(after).toContain('data-verified="true"');
    expect(after).toContain('data-reason="IMPLAUSIBLE_ENERGY" data-count="2"');
    expect(after).toContain("implausible signed energy");
    expect(after).not.toContain('data-reason="NO_READINGS"');
  });
});
