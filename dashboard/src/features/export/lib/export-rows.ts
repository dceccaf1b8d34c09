/**
 * The export CSVs: by default in local time (the household's zone) and human units (kWh, EUR,
 * c/kWh); with `raw`, the stored integers (Wh, micro-EUR) and UTC ISO times, as the ledger holds
 * them (for reconciling against the ledger or the verifier).
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";

import type { CsvCell } from "@/lib/csv";
import { csvDecimal, csvLocalTime } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { validTimeZone } from "@/lib/time-zone";

export interface ReadingRow {
  readTime?: Timestamp;
  meterId: string;
  powerKw: number;
  importKwh: number;
  exportKwh: number;
  voltageV: number;
  currentA: number;
  powerFactor: number;
  sampleCount: number | bigint;
}

export interface SettlementLine {
  hourStart?: Timestamp;
  meteredWh: bigint;
  spotPriceMicroEurPerKwh: bigint;
  spotCostMicroEur: bigint;
  gridEnergyCostMicroEur: bigint;
  capacityCostMicroEur: bigint;
  standingChargeMicroEur: bigint;
  vatMicroEur: bigint;
  totalCostMicroEur: bigint;
  txHash: string;
  leafIndex: bigint;
}

/** "2026-12-02 05:00" in `timeZone` (sortable, unambiguous with the zone in the column name). */
export function localStamp(ts: Timestamp | undefined, timeZone?: string): string {
  const date = tsDate(ts);
  if (!date) return "";
  return csvLocalTime(date, timeZone);
}

const zoneColumn = (timeZone?: string) => (validTimeZone(timeZone) ?? "UTC").replace(/[^A-Za-z0-9]+/g, "_").toLowerCase();
const eur = (micro: bigint) => csvDecimal(Number(micro) / 1_000_000, 4);

export function readingsCsv(readings: readonly ReadingRow[], raw: boolean, timeZone?: string): { header: string[]; rows: CsvCell[][] } {
  const rest = (r: ReadingRow): CsvCell[] => [r.meterId, r.powerKw, r.importKwh, r.exportKwh, r.voltageV, r.currentA, r.powerFactor, r.sampleCount];
  const names = ["meter_id", "power_kw", "import_kwh", "export_kwh", "voltage_v", "current_a", "power_factor", "sample_count"];
  return raw
    ? { header: ["time_utc", ...names], rows: readings.map((r) => [tsDate(r.readTime)?.toISOString(), ...rest(r)]) }
    : { header: [`time_${zoneColumn(timeZone)}`, ...names], rows: readings.map((r) => [localStamp(r.readTime, timeZone), ...rest(r)]) };
}

export function invoiceCsv(lines: readonly SettlementLine[], raw: boolean, timeZone?: string): { header: string[]; rows: CsvCell[][] } {
  if (raw) {
    return {
      header: ["hour_start_utc", "metered_wh", "spot_price_micro_eur_per_kwh", "spot_cost_micro_eur", "grid_energy_cost_micro_eur", "capacity_cost_micro_eur", "standing_charge_micro_eur", "vat_micro_eur", "total_cost_micro_eur", "tx_hash", "leaf_index"],
      rows: lines.map((s) => [tsDate(s.hourStart)?.toISOString(), s.meteredWh, s.spotPriceMicroEurPerKwh, s.spotCostMicroEur, s.gridEnergyCostMicroEur, s.capacityCostMicroEur, s.standingChargeMicroEur, s.vatMicroEur, s.totalCostMicroEur, s.txHash, s.leafIndex]),
    };
  }
  return {
    header: [`hour_start_${zoneColumn(timeZone)}`, "energy_kwh", "spot_price_c_per_kwh", "spot_eur", "grid_energy_eur", "capacity_eur", "standing_charge_eur", "vat_eur", "total_eur", "tx_hash", "leaf_index"],
    rows: lines.map((s) => [
      localStamp(s.hourStart, timeZone),
      csvDecimal(Number(s.meteredWh) / 1000, 3),
      csvDecimal(Number(s.spotPriceMicroEurPerKwh) / 10_000, 2),
      eur(s.spotCostMicroEur),
      eur(s.gridEnergyCostMicroEur),
      eur(s.capacityCostMicroEur),
      eur(s.standingChargeMicroEur),
      eur(s.vatMicroEur),
      eur(s.totalCostMicroEur),
      s.txHash,
      s.leafIndex,
    ]),
  };
}
