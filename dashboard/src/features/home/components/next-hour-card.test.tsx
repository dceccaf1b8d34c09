/**
 * The next hour's price as the household is billed for it: the API's BilledPrice (NOK µ/kWh) shown
 * in øre/kWh in the app's one locale (en-GB by default), all-in with VAT and its parts, fixed charges apart; nothing is
 * recomputed here.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";

import { BilledPriceSchema, HouseholdForecastSchema } from "@/gen/energypulse/prediction/v1/forecast_pb";

import { billedRows, perKwh } from "./next-hour-card";

const nbsp = (s: string) => s.replace(/\s/g, " ");

describe("next hour, as billed", () => {
  it("shows the all-in NOK price in øre/kWh, its parts, and the fixed charges apart", () => {
    const billed = create(BilledPriceSchema, {
      currency: "NOK",
      spotMicroPerKwh: 920_000n,
      energyMicroPerKwh: 969_000n,
      gridMicroPerKwh: 231_600n,
      taxesMicroPerKwh: 81_300n,
      supportMicroPerKwh: -153_000n,
      vatMicroPerKwh: 282_225n,
      totalMicroPerKwh: 1_411_125n,
    });
    const forecast = create(HouseholdForecastSchema, { currency: "NOK", capacityChargeMicroPerMonth: 195_000_000n, supplierFeeMicroPerMonth: 61_250_000n });
    const rows = billedRows(billed, forecast);
    expect(nbsp(rows.allIn)).toBe("141.1 øre/kWh");
    expect(rows.allInSub).toContain("VAT included");
    expect(nbsp(rows.spot)).toBe("92.0 øre/kWh");
    expect(rows.spotSub).toContain("EUR/NOK");
    expect(rows.parts.map(([l, v]) => `${l}: ${nbsp(v)}`)).toEqual([
      "Energy (spot + markup): 96.9 øre/kWh",
      "Grid energy: 23.2 øre/kWh",
      "Elavgift + Enova: 8.1 øre/kWh",
      "State support: -15.3 øre/kWh",
      "VAT: 28.2 øre/kWh",
    ]);
    expect(nbsp(rows.fixed)).toBe("kr 195.00 capacity step + kr 61.25 supplier fee per month");
  });

  it("says when no VAT applies, and names a Norgespris charge; EUR in c/kWh", () => {
    const exempt = create(BilledPriceSchema, { currency: "NOK", supportMicroPerKwh: 100_000n, totalMicroPerKwh: 1_000_000n });
    expect(billedRows(exempt, undefined).allInSub).toContain("no VAT");
    expect(billedRows(exempt, undefined).parts[3]?.[0]).toBe("Norgespris");
    expect(billedRows(exempt, undefined).fixed).toBe("");
    expect(perKwh(123_456n, "EUR")).toBe("12.3 c/kWh");
  });
});
