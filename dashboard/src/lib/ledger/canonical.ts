/**
 * Canonical record bytes and transaction hashes, re-implemented from docs/ledger-spec.md
 * (§2 record encoding, §3 transaction hash, §6 tree head encoding) so the browser checks the
 * ledger without trusting it: fixed field order, big-endian fixed-width integers,
 * u32-length-prefixed UTF-8 strings, money in micro-EUR, energy in Wh, instants in Unix ms.
 */
import type { CorrectionRecord, MeterKeyRecord, Record as LedgerRecord, SettlementRecord, SignedRegisterValue, UnbilledPeriodRecord } from "@/gen/energypulse/ledger/v1/record_pb";
import { tsMs } from "@/lib/proto-json";

import { ascii, concat, hexToBytes, i64, sha256, u32, u64 } from "./bytes";

export const RECORD_MAGIC = ascii("EPRC");
export const TX_MAGIC = ascii("EPTX");
export const TREE_HEAD_MAGIC = ascii("EPTH");
export const FORMAT_VERSION = 1;
export const SALT_LEN = 32;
export const HASH_LEN = 32;
export const KIND_PREDICTION = 1;
export const KIND_SETTLEMENT = 2;
export const KIND_METER_KEY = 4;
/** An operator's correction of a billed period (spec §17.6). */
export const KIND_CORRECTION = 5;
/** Settlement periods billing closed without a bill, and why (spec §17.7). */
export const KIND_UNBILLED_PERIOD = 6;
/** Meter-signed quarter-hour settlements and meter-key records (spec §16). */
export const METER_VALUES_VERSION = 2;

export interface PredictionFields {
  householdId: string; // "" for a zone-level forecast
  zone: string;
  targetHourMs: bigint;
  priceP10: bigint; // micro-EUR per kWh
  priceP50: bigint;
  priceP90: bigint;
  consumptionWh: bigint;
  costMicroEur: bigint;
  modelVersion: string;
  createTimeMs: bigint;
}

export interface SettlementFields {
  householdId: string;
  hourStartMs: bigint;
  meteredWh: bigint;
  spotPrice: bigint; // micro-EUR per kWh
  spotCost: bigint;
  gridEnergyCost: bigint;
  capacityCost: bigint;
  standingCharge: bigint;
  vat: bigint;
  totalCost: bigint;
}

function str(value: string): Uint8Array {
  const raw = new TextEncoder().encode(value);
  return concat(u32(raw.length), raw);
}

function header(kind: number, salt: Uint8Array, version = FORMAT_VERSION): Uint8Array {
  if (salt.length !== SALT_LEN) throw new Error(`salt must be ${SALT_LEN} bytes, got ${salt.length}`);
  return concat(RECORD_MAGIC, new Uint8Array([version, kind]), salt);
}

/** What a meter signs at a boundary: "EPMV" 0x01 u32-len meter id, i64 t, import Wh, export Wh, seq (§16.1). */
export function boundaryMessage(meterId: string, tMs: bigint, importWh: bigint, exportWh: bigint, seq: bigint): Uint8Array<ArrayBuffer> {
  return concat(ascii("EPMV"), new Uint8Array([1]), str(meterId), i64(tMs), i64(importWh), i64(exportWh), i64(seq));
}

function signedValue(v: SignedRegisterValue | undefined): Uint8Array {
  if (!v) throw new Error("a signed register value is missing");
  if (v.signature.length !== 64) throw new Error("a meter signature is 64 bytes");
  return concat(i64(tsMs(v.boundaryTime)), i64(v.importWh), i64(v.exportWh), i64(v.seq), v.signature);
}

/** Version-2 settlement (§16.2). */
export function encodeSettlementV2(salt: Uint8Array, s: SettlementRecord): Uint8Array {
  return concat(
    header(KIND_SETTLEMENT, salt, METER_VALUES_VERSION),
    str(s.householdId),
    i64(tsMs(s.periodStart)),
    i64(s.periodSeconds * 1000n),
    i64(s.meteredWh),
    i64(s.spotPriceMicroEurPerKwh),
    i64(s.totalCostMicroEur),
    str(s.currency),
    u32(s.components.length),
    ...s.components.flatMap((c) => [str(c.name), i64(c.amountMicro)]),
    u32(s.meterPeriods.length),
    ...s.meterPeriods.flatMap((m) => [str(m.meterId), str(m.keyId), signedValue(m.start), signedValue(m.end)]),
  );
}

/** Meter-key record (§16.3). */
export function encodeMeterKey(salt: Uint8Array, k: MeterKeyRecord): Uint8Array {
  return concat(
    header(KIND_METER_KEY, salt, METER_VALUES_VERSION),
    str(k.householdId),
    i64(tsMs(k.registerTime)),
    str(k.meterId),
    str(k.keyId),
    str(k.algorithm),
    u32(k.publicKey.length),
    k.publicKey,
  );
}

/** Operator correction (§17.6); when it was made is the transaction's append time. */
export function encodeCorrection(salt: Uint8Array, c: CorrectionRecord): Uint8Array {
  return concat(
    header(KIND_CORRECTION, salt, METER_VALUES_VERSION),
    str(c.householdId),
    i64(tsMs(c.periodStart)),
    i64(c.periodSeconds * 1000n),
    i64(c.amountMicro),
    str(c.currency),
    str(c.reason),
    str(c.operator),
  );
}

/** Unbilled settlement periods (§17.7): a run of period_count periods from period_start. */
export function encodeUnbilledPeriod(salt: Uint8Array, u: UnbilledPeriodRecord): Uint8Array {
  return concat(
    header(KIND_UNBILLED_PERIOD, salt, METER_VALUES_VERSION),
    str(u.householdId),
    i64(tsMs(u.periodStart)),
    i64(u.periodSeconds * 1000n),
    i64(u.periodCount),
    str(u.meterId),
    str(u.reason),
    str(u.detail),
  );
}

export function encodePrediction(salt: Uint8Array, r: PredictionFields): Uint8Array {
  return concat(
    header(KIND_PREDICTION, salt),
    str(r.householdId),
    str(r.zone),
    ...[r.targetHourMs, r.priceP10, r.priceP50, r.priceP90, r.consumptionWh, r.costMicroEur].map(i64),
    str(r.modelVersion),
    i64(r.createTimeMs),
  );
}

export function encodeSettlement(salt: Uint8Array, r: SettlementFields): Uint8Array {
  return concat(
    header(KIND_SETTLEMENT, salt),
    str(r.householdId),
    ...[
      r.hourStartMs,
      r.meteredWh,
      r.spotPrice,
      r.spotCost,
      r.gridEnergyCost,
      r.capacityCost,
      r.standingCharge,
      r.vat,
      r.totalCost,
    ].map(i64),
  );
}

/** The canonical bytes of a record as the API returns it (generated message type). */
export function encodeRecord(record: LedgerRecord, saltHex: string): Uint8Array {
  const salt = hexToBytes(saltHex);
  const content = record.content;
  switch (content.case) {
    case "prediction": {
      const p = content.value;
      return encodePrediction(salt, {
        householdId: p.householdId,
        zone: p.zone,
        targetHourMs: tsMs(p.targetHour),
        priceP10: p.priceP10MicroEurPerKwh,
        priceP50: p.priceP50MicroEurPerKwh,
        priceP90: p.priceP90MicroEurPerKwh,
        consumptionWh: p.consumptionWh,
        costMicroEur: p.costMicroEur,
        modelVersion: p.modelVersion,
        createTimeMs: tsMs(p.createTime),
      });
    }
    case "meterKey":
      return encodeMeterKey(salt, content.value);
    case "correction":
      return encodeCorrection(salt, content.value);
    case "unbilledPeriod":
      return encodeUnbilledPeriod(salt, content.value);
    case "settlement": {
      const s = content.value;
      if (s.formatVersion === METER_VALUES_VERSION) return encodeSettlementV2(salt, s);
      return encodeSettlement(salt, {
        householdId: s.householdId,
        hourStartMs: tsMs(s.hourStart),
        meteredWh: s.meteredWh,
        spotPrice: s.spotPriceMicroEurPerKwh,
        spotCost: s.spotCostMicroEur,
        gridEnergyCost: s.gridEnergyCostMicroEur,
        capacityCost: s.capacityCostMicroEur,
        standingCharge: s.standingChargeMicroEur,
        vat: s.vatMicroEur,
        totalCost: s.totalCostMicroEur,
      });
    }
    default:
      throw new Error("the transaction carries no record content");
  }
}

/** SHA-256("EPTX" || 0x01 || i64 appended_ms || u32 len(record) || record || prev_tx_hash). */
export async function txHash(recordBytes: Uint8Array, appendedAtMs: bigint, prevTxHash: Uint8Array): Promise<Uint8Array> {
  if (prevTxHash.length !== HASH_LEN) throw new Error("previous transaction hash must be 32 bytes");
  return sha256(TX_MAGIC, new Uint8Array([FORMAT_VERSION]), i64(appendedAtMs), u32(recordBytes.length), recordBytes, prevTxHash);
}

/** "EPTH" || 0x01 || log_id[32] || u64 tree_size || root[32] || i64 timestamp_ms (85 bytes). */
export function encodeTreeHead(logId: Uint8Array, treeSize: bigint, rootHash: Uint8Array, timestampMs: bigint): Uint8Array<ArrayBuffer> {
  if (logId.length !== HASH_LEN || rootHash.length !== HASH_LEN) throw new Error("log id and root must be 32 bytes");
  return concat(TREE_HEAD_MAGIC, new Uint8Array([1]), logId, u64(treeSize), rootHash, i64(timestampMs));
}

/**
 * "EPBK" || 0x01 || u64 height || prev_block_hash || merkle_root || u64 first_tx_index
 * || u32 tx_count || i64 sealed_at_ms (97 bytes); block_hash = SHA-256(header) (spec §5).
 */
export function encodeBlockHeader(b: {
  height: bigint;
  prevBlockHash: Uint8Array;
  merkleRoot: Uint8Array;
  firstTxIndex: bigint;
  txCount: number;
  sealedAtMs: bigint;
}): Uint8Array {
  if (b.prevBlockHash.length !== HASH_LEN || b.merkleRoot.length !== HASH_LEN) throw new Error("block hashes must be 32 bytes");
  return concat(ascii("EPBK"), new Uint8Array([1]), u64(b.height), b.prevBlockHash, b.merkleRoot, u64(b.firstTxIndex), u32(b.txCount), i64(b.sealedAtMs));
}
