/**
 * A ledger record in words: each field named for a person, in local time and human units
 * (kWh, c/kWh, EUR), from the record's own schema, so a field added to the contract shows up
 * here without code (named from its identifier and unit suffix until it gets its own label).
 * The raw record (field names and micro-units, UTC) stays one click away on the page.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";

import { CorrectionRecordSchema, MeterKeyRecordSchema, PredictionRecordSchema, SettlementRecordSchema, type Transaction, UnbilledPeriodRecordSchema } from "@/gen/energypulse/ledger/v1/record_pb";
import { bytesToHex } from "@/lib/ledger/bytes";
import { fmtDateTime, fmtMoney, fmtNumber } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";

/** Local times on ledger pages: the market's (CET/CEST); a record does not name a household's zone. */
export const LEDGER_TIME_ZONE = "Europe/Oslo";

export interface Line {
  /** The field's identifier in the contract (the raw view's name). */
  field: string;
  label: string;
  value: string;
}

const LABELS: Record<string, string> = {
  household_id: "Household",
  hour_start: "Hour",
  period_start: "Period starts",
  period_seconds: "Period length",
  metered_wh: "Energy used",
  spot_price_micro_eur_per_kwh: "Spot price",
  spot_cost_micro_eur: "Spot cost",
  grid_energy_cost_micro_eur: "Grid energy charge",
  capacity_cost_micro_eur: "Capacity charge (share)",
  standing_charge_micro_eur: "Standing charge (share)",
  vat_micro_eur: "VAT",
  total_cost_micro_eur: "Total",
  format_version: "Record format",
  currency: "Currency",
  components: "Cost components",
  meter_periods: "Signed meter periods",
  zone: "Price zone",
  target_hour: "Forecast for the hour",
  price_p10_micro_eur_per_kwh: "Price, low estimate (1 in 10 below)",
  price_p50_micro_eur_per_kwh: "Price, expected (median)",
  price_p90_micro_eur_per_kwh: "Price, high estimate (1 in 10 above)",
  consumption_wh: "Expected use",
  cost_micro_eur: "Expected cost",
  model_version: "Forecast model",
  create_time: "Forecast made",
  period_count: "Periods not billed",
  meter_id: "Meter",
  reason: "Why",
  detail: "Detail",
};

/** "price_p50_micro_eur_per_kwh" -> "Price p50" (a field without its own label). */
function fallbackLabel(name: string): string {
  const words = name.replace(/_(micro_)?(eur|nok)(_per_kwh)?$|_wh$|_seconds$|_time$/, "").replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function localTime(date: Date | undefined): string {
  if (!date) return "–";
  return `${fmtDateTime(date, LEDGER_TIME_ZONE)} (${LEDGER_TIME_ZONE})`;
}

function money(micro: number, currency: string): string {
  return fmtMoney(micro / 1_000_000, currency, 2, 4);
}

function duration(seconds: number): string {
  return seconds % 3600 === 0 ? `${fmtNumber(seconds / 3600, 0)} h` : `${fmtNumber(seconds / 60, 0)} min`;
}

/** One value in words, by its field's unit suffix. */
function inWords(name: string, value: unknown, currency: string): string {
  if (value && typeof value === "object" && "seconds" in value) return localTime(tsDate(value as Timestamp));
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return value.length === 0 ? "none" : `${String(value.length)} entries`;
  if (typeof value === "bigint" || typeof value === "number") {
    const n = Number(value);
    if (/_micro_(eur|nok)_per_kwh$/.test(name)) return `${fmtNumber(n / 10_000, 2)} ${currency === "NOK" ? "øre" : "c"}/kWh`;
    if (/_micro_(eur|nok)$/.test(name)) return money(n, currency);
    if (name.endsWith("_wh")) return `${fmtNumber(n / 1000, 3)} kWh`;
    if (name.endsWith("_seconds")) return duration(n);
    return String(value);
  }
  if (value === "") return "–";
  return String(value);
}

const SCHEMAS: Record<string, DescMessage> = {
  settlement: SettlementRecordSchema,
  meterKey: MeterKeyRecordSchema,
  prediction: PredictionRecordSchema,
  correction: CorrectionRecordSchema,
  unbilledPeriod: UnbilledPeriodRecordSchema,
};

function schemaOf(tx: Transaction): DescMessage | undefined {
  const c = tx.record?.content;
  return c?.case ? SCHEMAS[c.case] : undefined;
}

/** The record's fields in words, in schema order; fields left unset (zero, empty) are left out. */
export function recordInWords(tx: Transaction): Line[] {
  const schema = schemaOf(tx);
  if (!schema) return [];
  const values = tx.record?.content.value as unknown as Record<string, unknown>;
  const currency = typeof values.currency === "string" && /^[A-Z]{3}$/.test(values.currency) ? values.currency : "EUR";
  return schema.fields
    .filter((f) => {
      const v = values[f.localName];
      return !(v === undefined || v === "" || v === 0 || v === 0n || (Array.isArray(v) && v.length === 0));
    })
    .map((f) => ({ field: f.name, label: LABELS[f.name] ?? fallbackLabel(f.name), value: inWords(f.name, values[f.localName], currency) }));
}

/** The raw record: contract field names, stored integers (micro-units), UTC ISO times. */
export function rawRecord(tx: Transaction): [string, string][] {
  const schema = schemaOf(tx);
  if (!schema) return [];
  const values = tx.record?.content.value as unknown as Record<string, unknown>;
  return schema.fields.map((field) => {
    const val = values[field.localName];
    if (val && typeof val === "object" && "seconds" in val) return [field.name, tsDate(val as Timestamp)?.toISOString() ?? ""];
    if (val instanceof Uint8Array) return [field.name, bytesToHex(val)];
    if (Array.isArray(val)) return [field.name, `${val.length.toString()} entries`];
    return [field.name, String(val)];
  });
}
