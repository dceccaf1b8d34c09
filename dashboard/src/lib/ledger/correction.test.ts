/**
 * Operator corrections in the browser (docs/ledger-spec.md §17.6), against the CORRECTION vector of
 * docs/ledger-test-vectors.json ("format_version_2.correction"): the record re-encodes byte for
 * byte with its transaction hash, and an invoice's corrections are checked and shown: amount, why
 * and who, a correction of a period no line bills flagged, sums that do not add up flagged.
 */
import { readFileSync } from "node:fs";

import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { InvoiceSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { RecordSchema, TransactionSchema, type Record as LedgerRecord } from "@/gen/energypulse/ledger/v1/record_pb";

import { bytesToHex, hexToBytes } from "./bytes";
import { encodeRecord, txHash } from "./canonical";
import { checkCorrections, checkTotals, currencySums } from "./metering";

interface CorrectionJson {
  salt: string;
  household_id: string;
  period_start_ms: number;
  period_ms: number;
  amount_ueur: number;
  currency: string;
  reason: string;
  operator: string;
}
const vector = (
  JSON.parse(readFileSync(new URL("../../../../docs/ledger-test-vectors.json", import.meta.url), "utf8")) as {
    format_version_2: {
      correction: { transaction: { record: CorrectionJson; canonical_hex: string; appended_at_ms: number; prev_tx_hash: string; tx_hash: string } };
    };
  }
).format_version_2.correction.transaction;

const ts = (ms: number) => timestampFromMs(ms);

function correctionOf(r: CorrectionJson): LedgerRecord {
  return create(RecordSchema, {
    content: {
      case: "correction",
      value: {
        householdId: r.household_id,
        periodStart: ts(r.period_start_ms),
        periodSeconds: BigInt(r.period_ms / 1000),
        amountMicro: BigInt(r.amount_ueur),
        currency: r.currency,
        reason: r.reason,
        operator: r.operator,
      },
    },
  });
}

function settlementAt(startMs: number, totalMicro: bigint): LedgerRecord {
  return create(RecordSchema, {
    content: { case: "settlement", value: { householdId: "hh-0001", formatVersion: 2, periodStart: ts(startMs), periodSeconds: 900n, totalCostMicroEur: totalMicro } },
  });
}

describe("operator corrections", () => {
  it("re-encodes the CORRECTION vector and reproduces its transaction hash", async () => {
    const body = encodeRecord(correctionOf(vector.record), vector.record.salt);
    expect(bytesToHex(body)).toBe(vector.canonical_hex);
    expect(bytesToHex(await txHash(body, BigInt(vector.appended_at_ms), hexToBytes(vector.prev_tx_hash)))).toBe(vector.tx_hash);
  });

  it("shows amount, reason and operator, and checks what it corrects and the sums", () => {
    const r = vector.record;
    const correction = create(TransactionSchema, { txHash: vector.tx_hash, record: correctionOf(r) });
    const invoiceWith = (lineStartMs: number, amountDue: bigint) =>
      create(InvoiceSchema, {
        householdId: "hh-0001",
        lines: [{ transaction: create(TransactionSchema, { record: settlementAt(lineStartMs, 53_713n) }) }],
        totalCostMicroEur: 53_713n,
        corrections: [correction],
        correctionTotalMicroEur: BigInt(r.amount_ueur),
        amountDueMicroEur: amountDue,
      });
    const due = 53_713n + BigInt(r.amount_ueur);
    const good = checkCorrections(invoiceWith(r.period_start_ms, due));
    expect(good.problems).toEqual([]);
    expect(good.lines).toEqual([
      { txHash: vector.tx_hash, periodStartMs: BigInt(r.period_start_ms), amountMicro: BigInt(r.amount_ueur), currency: "EUR", reason: r.reason, operator: r.operator },
    ]);

    const elsewhere = checkCorrections(invoiceWith(r.period_start_ms + 900_000, due));
    expect(elsewhere.problems).toEqual([`a correction of ${new Date(r.period_start_ms).toISOString()} corrects a period no line bills`]);

    const inflated = checkCorrections(invoiceWith(r.period_start_ms, 53_713n));
    expect(inflated.problems).toEqual(["the invoice's correction total or amount due is not the sum of its corrections"]);
  });

  it("checks a month in two currencies per currency and never accepts a sum across them", () => {
    const r = vector.record; // an EUR correction of the first quarter-hour
    const nok = create(RecordSchema, {
      content: { case: "settlement", value: { householdId: "hh-0001", formatVersion: 2, periodStart: ts(r.period_start_ms + 900_000), periodSeconds: 900n, meteredWh: 300n, totalCostMicroEur: 610_000n, currency: "NOK" } },
    });
    const base = {
      householdId: "hh-0001",
      lines: [{ transaction: create(TransactionSchema, { record: settlementAt(r.period_start_ms, 53_713n) }) }, { transaction: create(TransactionSchema, { record: nok }) }],
      corrections: [create(TransactionSchema, { txHash: vector.tx_hash, record: correctionOf(r) })],
      totals: [
        { currency: "EUR", lineCount: 1, totalWh: 0n, totalCostMicro: 53_713n, correctionTotalMicro: BigInt(r.amount_ueur), amountDueMicro: 53_713n + BigInt(r.amount_ueur) },
        { currency: "NOK", lineCount: 1, totalWh: 300n, totalCostMicro: 610_000n, correctionTotalMicro: 0n, amountDueMicro: 610_000n },
      ],
    };
    const mixed = create(InvoiceSchema, base);
    expect([...currencySums(mixed).keys()]).toEqual(["EUR", "NOK"]);
    expect(checkTotals(mixed)).toEqual([]);
    expect(checkCorrections(mixed).problems).toEqual([]);
    const summed = create(InvoiceSchema, { ...base, totalCostMicroEur: 53_713n + 610_000n });
    expect(checkTotals(summed)).toEqual(["the invoice adds EUR, NOK into one total"]);
    const wrong = create(InvoiceSchema, { ...base, totals: [base.totals[0]!, { ...base.totals[1]!, amountDueMicro: 1n }] });
    expect(checkTotals(wrong)).toEqual(["the invoice's totals per currency are not the sums of its lines and corrections"]);
  });
});
