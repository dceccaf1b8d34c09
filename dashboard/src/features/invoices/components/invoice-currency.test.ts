import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";

import { SettlementRecordSchema } from "@/gen/energypulse/ledger/v1/record_pb";

import { invoiceCurrency } from "./invoice-page";

describe("invoiceCurrency", () => {
  it("is the lines' one currency (a legacy line's is EUR), mixed when they differ: never one total across them", () => {
    const legacy = create(SettlementRecordSchema, { formatVersion: 0 });
    const nok = create(SettlementRecordSchema, { formatVersion: 2, currency: "NOK" });
    const eur = create(SettlementRecordSchema, { formatVersion: 2, currency: "" });
    expect(invoiceCurrency([nok, nok])).toBe("NOK");
    expect(invoiceCurrency([legacy, nok, nok])).toBe("mixed"); // legacy EUR hours, then NOK periods
    expect(invoiceCurrency([legacy, undefined])).toBe("EUR");
    expect(invoiceCurrency([nok, eur])).toBe("mixed");
  });
});
