import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";

import { SettlementRecordSchema } from "@/gen/energypulse/ledger/v1/record_pb";

import { invoiceCurrency } from "./invoice-page";

describe("invoiceCurrency", () => {
  it("is the meter-signed lines' currency (the NOK bill), EUR for a legacy month, mixed when they differ", () => {
    const legacy = create(SettlementRecordSchema, { formatVersion: 0 });
    const nok = create(SettlementRecordSchema, { formatVersion: 2, currency: "NOK" });
    const eur = create(SettlementRecordSchema, { formatVersion: 2, currency: "" });
    expect(invoiceCurrency([legacy, nok, nok])).toBe("NOK");
    expect(invoiceCurrency([legacy, undefined])).toBe("EUR");
    expect(invoiceCurrency([nok, eur])).toBe("mixed");
  });
});
