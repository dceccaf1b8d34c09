import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { invoiceCsv, localStamp, readingsCsv } from "./export-rows";

const line = {
  hourStart: timestampFromDate(new Date("2026-12-02T04:00:00Z")),
  meteredWh: 1438n,
  spotPriceMicroEurPerKwh: 74_000n,
  spotCostMicroEur: 106_412n,
  gridEnergyCostMicroEur: 57_520n,
  capacityCostMicroEur: 12_000n,
  standingChargeMicroEur: 3_000n,
  vatMicroEur: 44_733n,
  totalCostMicroEur: 223_665n,
  txHash: "ab",
  leafIndex: 7n,
};

describe("export CSVs", () => {
  it("are in local time and human units by default", () => {
    const { header, rows } = invoiceCsv([line], false, "Europe/Oslo");
    expect(header.slice(0, 3)).toEqual(["hour_start_europe_oslo", "energy_kwh", "spot_price_c_per_kwh"]);
    expect(rows[0]?.slice(0, 4)).toEqual(["2026-12-02 05:00", "1.438", "7.40", "0.1064"]);
    expect(rows[0]?.[8]).toBe("0.2237");
  });

  it("keep the raw micro-units and UTC as an option", () => {
    const { header, rows } = invoiceCsv([line], true, "Europe/Oslo");
    expect(header[0]).toBe("hour_start_utc");
    expect(rows[0]?.slice(0, 3)).toEqual(["2026-12-02T04:00:00.000Z", 1438n, 74_000n]);
  });

  it("put readings in the household's zone", () => {
    const reading = { readTime: timestampFromDate(new Date("2026-07-01T10:15:00Z")), meterId: "m", powerKw: 1, importKwh: 2, exportKwh: 0, voltageV: 230, currentA: 4, powerFactor: 1, sampleCount: 60 };
    expect(readingsCsv([reading], false, "Europe/Oslo").rows[0]?.[0]).toBe("2026-07-01 12:15"); // CEST
    expect(readingsCsv([reading], true, "Europe/Oslo").header[0]).toBe("time_utc");
    expect(localStamp(undefined)).toBe("");
  });
});
