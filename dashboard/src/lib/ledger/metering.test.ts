/**
 * Format version 2 in the browser, against docs/ledger-test-vectors.json ("format_version_2"):
 * the records re-encode byte for byte, the meter's signatures verify, a doctored value fails, and
 * an invoice with a missing period is flagged (count, chain and totals).
 */
import { readFileSync } from "node:fs";

import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { InvoiceSchema, MissingPeriodSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { RecordSchema, TransactionSchema, type Record as LedgerRecord } from "@/gen/energypulse/ledger/v1/record_pb";

import { bytesToHex, hexToBytes } from "./bytes";
import { encodeRecord, txHash } from "./canonical";
import { checkInvoice, signedEnergy } from "./metering";

interface SignedJson {
  boundary_ms: number;
  import_wh: number;
  export_wh: number;
  seq: number;
  signature_hex: string;
}
interface RecordJson {
  kind: string;
  salt: string;
  household_id: string;
  [field: string]: unknown;
}
interface TxJson {
  record: RecordJson;
  canonical_hex: string;
  appended_at_ms: number;
  prev_tx_hash: string;
  tx_hash: string;
}
const v2 = (
  JSON.parse(readFileSync(new URL("../../../../docs/ledger-test-vectors.json", import.meta.url), "utf8")) as {
    format_version_2: { transactions: TxJson[]; refused: { reason: string; record: RecordJson }[]; unbilled_period: { transaction: TxJson } };
  }
).format_version_2;

const ts = (ms: unknown) => timestampFromMs(Number(ms));
const value = (v: SignedJson) => ({ boundaryTime: ts(v.boundary_ms), importWh: BigInt(v.import_wh), exportWh: BigInt(v.export_wh), seq: BigInt(v.seq), signature: hexToBytes(v.signature_hex) });

function recordOf(r: RecordJson): LedgerRecord {
  if (r.kind === "UNBILLED_PERIOD") {
    return create(RecordSchema, {
      content: {
        case: "unbilledPeriod",
        value: {
          householdId: r.household_id,
          meterId: String(r.meter_id),
          periodStart: ts(r.period_start_ms),
          periodSeconds: BigInt(Number(r.period_ms) / 1000),
          periodCount: BigInt(Number(r.period_count)),
          reason: String(r.reason),
          detail: String(r.detail),
        },
      },
    });
  }
  if (r.kind === "METER_KEY") {
    return create(RecordSchema, {
      content: {
        case: "meterKey",
        value: { householdId: r.household_id, meterId: String(r.meter_id), keyId: String(r.key_id), algorithm: String(r.algorithm), publicKey: hexToBytes(String(r.public_key)), registerTime: ts(r.registered_ms) },
      },
    });
  }
  const meters = r.meters as { meter_id: string; key_id: string; start: SignedJson; end: SignedJson }[];
  return create(RecordSchema, {
    content: {
      case: "settlement",
      value: {
        householdId: r.household_id,
        formatVersion: 2,
        periodStart: ts(r.period_start_ms),
        periodSeconds: BigInt(Number(r.period_ms) / 1000),
        meteredWh: BigInt(Number(r.metered_wh)),
        spotPriceMicroEurPerKwh: BigInt(Number(r.spot_price_ueur_per_kwh)),
        totalCostMicroEur: BigInt(Number(r.total_cost_ueur)),
        currency: String(r.currency),
        components: (r.components as { name: string; amount_micro: number }[]).map((c) => ({ name: c.name, amountMicro: BigInt(c.amount_micro) })),
        meterPeriods: meters.map((m) => ({ meterId: m.meter_id, keyId: m.key_id, start: value(m.start), end: value(m.end) })),
      },
    },
  });
}

function invoiceOf(txs: TxJson[], periodEndMs: number) {
  const [key, ...lines] = txs;
  const settlements = lines.map((t) => recordOf(t.record));
  const sum = (f: (s: RecordJson) => unknown) => lines.reduce((a, t) => a + BigInt(Number(f(t.record))), 0n);
  return create(InvoiceSchema, {
    householdId: "hh-0001",
    periodStart: ts(v2.transactions[1]?.record.period_start_ms),
    periodEnd: ts(periodEndMs),
    lines: settlements.map((record) => ({ transaction: create(TransactionSchema, { record }) })),
    meterKeys: key ? [create(TransactionSchema, { record: recordOf(key.record) })] : [],
    totalWh: sum((r) => r.metered_wh),
    totalCostMicroEur: sum((r) => r.total_cost_ueur),
  });
}

describe("format version 2", () => {
  it("re-encodes every v2 vector and reproduces its transaction hash", async () => {
    for (const tx of v2.transactions) {
      const body = encodeRecord(recordOf(tx.record), tx.record.salt);
      expect(bytesToHex(body)).toBe(tx.canonical_hex);
      expect(bytesToHex(await txHash(body, BigInt(tx.appended_at_ms), hexToBytes(tx.prev_tx_hash)))).toBe(tx.tx_hash);
    }
  });

  it("accepts a complete, chained, signed invoice and flags a missing period", async () => {
    const start = Number(v2.transactions[1]?.record.period_start_ms);
    const complete = await checkInvoice(invoiceOf(v2.transactions, start + 2 * 900_000), 10n ** 13n);
    expect(complete).toMatchObject({ legacy: false, expected: 2, settled: 2, complete: true, problems: [] });

    const gap = await checkInvoice(invoiceOf(v2.transactions, start + 3 * 900_000), 10n ** 13n);
    expect(gap.complete).toBe(false);
    expect(gap.missing).toEqual([BigInt(start + 2 * 900_000)]);
    expect(gap.problems).toEqual(["1 periods are neither billed nor listed as missing"]);
  });

  it("refuses a line whose cost components do not sum to its total", async () => {
    const key = recordOf(v2.transactions[0]!.record);
    const k = key.content.case === "meterKey" ? key.content.value : undefined;
    const keys = new Map([[`${k?.meterId ?? ""}/${k?.keyId ?? ""}`, new Uint8Array(k?.publicKey ?? [])]]);
    const r = recordOf(v2.transactions[1]!.record);
    const s = r.content.case === "settlement" ? r.content.value : undefined;
    await expect(signedEnergy(s!, keys)).resolves.toBe(s!.meteredWh);
    s!.currency = "NOK";
    s!.components = [
      { $typeName: "energypulse.ledger.v1.CostComponent", name: "spot_energy", amountMicro: s!.totalCostMicroEur - 1n },
      { $typeName: "energypulse.ledger.v1.CostComponent", name: "vat", amountMicro: 0n },
    ];
    await expect(signedEnergy(s!, keys)).rejects.toThrow(/do not sum to the total/);
  });

  it("refuses the refused vectors: energy not signed, and a value the meter did not sign", async () => {
    const key = recordOf(v2.transactions[0]!.record);
    const k = key.content.case === "meterKey" ? key.content.value : undefined;
    const keys = new Map([[`${k?.meterId ?? ""}/${k?.keyId ?? ""}`, new Uint8Array(k?.publicKey ?? [])]]);
    for (const bad of v2.refused) {
      const r = recordOf(bad.record);
      const s = r.content.case === "settlement" ? r.content.value : undefined;
      await expect(signedEnergy(s!, keys)).rejects.toThrow(bad.reason === "ENERGY_NOT_SIGNED" ? /meter signed/ : /not signed by the meter/);
    }
  });
});

describe("unbilled periods (spec §17.7)", () => {
  const told = v2.unbilled_period.transaction;

  it("re-encodes the UNBILLED_PERIOD vector and reproduces its transaction hash", async () => {
    const body = encodeRecord(recordOf(told.record), told.record.salt);
    expect(bytesToHex(body)).toBe(told.canonical_hex);
    expect(bytesToHex(await txHash(body, BigInt(told.appended_at_ms), hexToBytes(told.prev_tx_hash)))).toBe(told.tx_hash);
  });

  it("takes each missing period's reason from the record on the log, and flags another one", async () => {
    const start = Number(v2.transactions[1]?.record.period_start_ms);
    const invoice = invoiceOf(v2.transactions, start + 5 * 900_000);
    invoice.unbilled = [create(TransactionSchema, { txHash: told.tx_hash, record: recordOf(told.record) })];
    const listed = (reasons: string[]) => reasons.map((reason, i) => create(MissingPeriodSchema, { periodStart: ts(start + (2 + i) * 900_000), reason }));
    invoice.missingPeriods = listed(["NOT_SIGNED", "NOT_SIGNED", "NOT_SETTLED"]);
    const check = await checkInvoice(invoice, 10n ** 13n);
    expect(check).toMatchObject({ legacy: false, expected: 5, settled: 2, complete: false, problems: [] });
    expect(check.reasons.map((r) => [Number(r.startMs - BigInt(start)) / 900_000, r.reason, r.detail, r.txHash])).toEqual([
      [2, "NOT_SIGNED", told.record.detail, told.tx_hash],
      [3, "NOT_SIGNED", told.record.detail, told.tx_hash],
      [4, "NOT_SETTLED", "", ""],
    ]);
    // The server claiming a reason the log does not give is caught.
    invoice.missingPeriods = listed(["NOT_SIGNED", "NO_READINGS", "NO_READINGS"]);
    expect((await checkInvoice(invoice, 10n ** 13n)).problems).toEqual(["2 missing periods give another reason than the ledger's records"]);
  });
});
