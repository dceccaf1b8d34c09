import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { PredictionRecordSchema, RecordSchema, SettlementRecordSchema, TransactionSchema, UnbilledPeriodRecordSchema } from "@/gen/energypulse/ledger/v1/record_pb";

import { rawRecord, recordInWords } from "./record-words";

const prediction = create(TransactionSchema, {
  record: create(RecordSchema, {
    content: {
      case: "prediction",
      value: create(PredictionRecordSchema, {
        householdId: "sim-h000000",
        zone: "NO1",
        targetHour: timestampFromDate(new Date("2026-12-02T04:00:00Z")),
        priceP50MicroEurPerKwh: 43575n,
        consumptionWh: 422n,
        costMicroEur: 30768n,
      }),
    },
  }),
});

describe("a ledger record in words", () => {
  const words = Object.fromEntries(recordInWords(prediction).map((l) => [l.field, [l.label, l.value]]));

  it("names fields for people and converts micro-units and Wh", () => {
    expect(words.price_p50_micro_eur_per_kwh).toEqual(["Price, expected (median)", expect.stringMatching(/^4[.,]36 c\/kWh$/)]);
    expect(words.consumption_wh?.[1]).toMatch(/^0[.,]422 kWh$/);
    expect(words.cost_micro_eur?.[1]).toBe("€0.0308");
  });

  it("gives times in local time (Europe/Oslo), not UTC ISO", () => {
    expect(words.target_hour?.[1]).toBe("2 Dec 2026, 05:00 (Europe/Oslo)");
  });

  it("leaves unset fields out of the words, keeps every field in the raw record", () => {
    expect(words.price_p10_micro_eur_per_kwh).toBeUndefined();
    const raw = Object.fromEntries(rawRecord(prediction));
    expect(raw.price_p50_micro_eur_per_kwh).toBe("43575");
    expect(raw.target_hour).toBe("2026-12-02T04:00:00.000Z");
    expect(raw.price_p10_micro_eur_per_kwh).toBe("0");
  });

  it("uses a settlement's currency for its money", () => {
    const tx = create(TransactionSchema, {
      record: create(RecordSchema, { content: { case: "settlement", value: create(SettlementRecordSchema, { householdId: "h", totalCostMicroEur: 1_250_000n, currency: "NOK", meteredWh: 1500n }) } }),
    });
    const lines = Object.fromEntries(recordInWords(tx).map((l) => [l.field, l.value]));
    expect(lines.total_cost_micro_eur?.replace(/\s/g, " ")).toBe("kr 1.25");
    expect(lines.metered_wh).toMatch(/^1[.,]500 kWh$/);
  });

  it("shows an unbilled-period record's own fields: why, which meter, how many periods", () => {
    const told = create(TransactionSchema, {
      record: create(RecordSchema, {
        content: {
          case: "unbilledPeriod",
          value: create(UnbilledPeriodRecordSchema, {
            householdId: "hh-1",
            meterId: "m-1",
            periodStart: timestampFromDate(new Date("2026-01-01T09:00:00Z")),
            periodSeconds: 900n,
            periodCount: 3n,
            reason: "NO_READINGS",
            detail: "no reading of m-1 over the period",
          }),
        },
      }),
    });
    const lines = Object.fromEntries(recordInWords(told).map((l) => [l.field, [l.label, l.value]]));
    expect(lines.reason).toEqual(["Why", "NO_READINGS"]);
    expect(lines.meter_id).toEqual(["Meter", "m-1"]);
    expect(lines.period_count).toEqual(["Periods not billed", "3"]);
    expect(lines.period_seconds?.[1]).toBe("15 min");
    expect(rawRecord(told).map(([name]) => name)).toEqual(["household_id", "meter_id", "period_start", "period_seconds", "period_count", "reason", "detail"]);
  });
});
