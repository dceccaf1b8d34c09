/**
 * Meter-signed settlements in the browser (docs/ledger-spec.md §16): each version-2 line's
 * register values are checked against the meter's key (a meter-key record on the ledger), its
 * energy against the signed delta, and the invoice as a whole for completeness: every settlement
 * period of the month is billed once or listed missing, each period starts where the previous one
 * ended, and the totals are the sum of the lines. Same rules as verifier/metering.py.
 */
import type { Invoice } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import type { SettlementRecord } from "@/gen/energypulse/ledger/v1/record_pb";
import { tsMs } from "@/lib/proto-json";

import { bytesToHex, sha256 } from "./bytes";
import { boundaryMessage, METER_VALUES_VERSION } from "./canonical";
import { verifyEd25519 } from "./verify";

const HOUR_MS = 3_600_000n;

export interface InvoiceCompleteness {
  legacy: boolean;
  periodMs: bigint;
  expected: number;
  settled: number;
  /** Starts (ms) of periods neither billed nor still open at the head's time. */
  missing: bigint[];
  open: number;
  problems: string[];
  complete: boolean;
  /** Operator corrections (spec §17.6): amount, why and who, as the household sees them. */
  corrections: CorrectionLine[];
  /** Why each missing period was not billed, from the unbilled-period records on the log (§17.7). */
  reasons: MissingReason[];
}

/** A missing period and its reason: an unbilled-period record's, or NOT_SETTLED where the log has none. */
export interface MissingReason {
  startMs: bigint;
  reason: string;
  detail: string;
  /** The unbilled-period transaction that gives it ("" for NOT_SETTLED). */
  txHash: string;
}

/** The invoice's word for a period the log says nothing about (no line, no unbilled record). */
export const NOT_SETTLED = "NOT_SETTLED";

/** {period start ms: reason} from the invoice's unbilled-period records of its household, the first on the log for each period. */
export function unbilledReasons(invoice: Invoice, periodMs: bigint): Map<bigint, MissingReason> {
  const out = new Map<bigint, MissingReason>();
  const runs = [...invoice.unbilled].sort((a, b) => Number(a.leafIndex - b.leafIndex));
  for (const tx of runs) {
    if (tx.record?.content.case !== "unbilledPeriod") continue;
    const u = tx.record.content.value;
    if (u.householdId !== invoice.householdId) continue;
    const start = tsMs(u.periodStart);
    const end = start + u.periodSeconds * 1000n * u.periodCount;
    for (let p = start - (start % periodMs); p < end; p += periodMs) {
      if (!out.has(p)) out.set(p, { startMs: p, reason: u.reason, detail: u.detail, txHash: tx.txHash });
    }
  }
  return out;
}

export interface CorrectionLine {
  txHash: string;
  periodStartMs: bigint;
  amountMicro: bigint;
  currency: string;
  reason: string;
  operator: string;
}

/** The invoice's corrections, and the problems with them: a correction of a period no line bills,
 * one without a reason or operator, sums that are not the corrections' (same rules as verifier/metering.py). */
export function checkCorrections(invoice: Invoice): { lines: CorrectionLine[]; problems: string[] } {
  const billed = new Set<string>();
  for (const l of invoice.lines) {
    const c = l.transaction?.record?.content;
    if (c?.case !== "settlement") continue;
    const s = c.value;
    billed.add(s.formatVersion === METER_VALUES_VERSION ? `${tsMs(s.periodStart).toString()}/${(s.periodSeconds * 1000n).toString()}` : `${tsMs(s.hourStart).toString()}/${HOUR_MS.toString()}`);
  }
  const lines: CorrectionLine[] = [];
  const problems: string[] = [];
  let total = 0n;
  for (const tx of invoice.corrections) {
    const c = tx.record?.content;
    if (c?.case !== "correction") {
      problems.push(`correction ${tx.txHash.slice(0, 12)} has no visible record`);
      continue;
    }
    const r = c.value;
    const start = tsMs(r.periodStart);
    total += r.amountMicro;
    lines.push({ txHash: tx.txHash, periodStartMs: start, amountMicro: r.amountMicro, currency: r.currency, reason: r.reason, operator: r.operator });
    if (!billed.has(`${start.toString()}/${(r.periodSeconds * 1000n).toString()}`)) problems.push(`a correction of ${new Date(Number(start)).toISOString()} corrects a period no line bills`);
    if (!r.reason.trim() || !r.operator) problems.push(`a correction of ${new Date(Number(start)).toISOString()} names no reason or no operator`);
  }
  // A ledger from before corrections sends neither sum: nothing to check then. Several currencies:
  // checkTotals checks each one's sums (and that nothing is summed across them).
  const sent = invoice.corrections.length > 0 || invoice.correctionTotalMicroEur !== 0n || invoice.amountDueMicroEur !== 0n;
  if (sent && currencySums(invoice).size <= 1 && (total !== invoice.correctionTotalMicroEur || invoice.totalCostMicroEur + total !== invoice.amountDueMicroEur)) {
    problems.push("the invoice's correction total or amount due is not the sum of its corrections");
  }
  return { lines, problems };
}

/** One currency's sums of an invoice (micro-units): lines and corrections are never added across currencies. */
export interface CurrencySum {
  currency: string;
  lines: number;
  wh: bigint;
  cost: bigint;
  corrections: bigint;
  due: bigint;
}

/** A version-1 line is EUR (spec §1); a version-2 line without a currency too. */
export function lineCurrency(s: SettlementRecord): string {
  return s.formatVersion === METER_VALUES_VERSION ? s.currency || "EUR" : "EUR";
}

/** Per currency (by code), from the lines and corrections themselves (as verifier/metering.py currency_sums). */
export function currencySums(invoice: Invoice): Map<string, CurrencySum> {
  const out = new Map<string, CurrencySum>();
  const bucket = (currency: string): CurrencySum => {
    let b = out.get(currency);
    if (!b) out.set(currency, (b = { currency, lines: 0, wh: 0n, cost: 0n, corrections: 0n, due: 0n }));
    return b;
  };
  for (const l of invoice.lines) {
    const c = l.transaction?.record?.content;
    if (c?.case !== "settlement") continue;
    const b = bucket(lineCurrency(c.value));
    b.lines++;
    b.wh += c.value.meteredWh;
    b.cost += c.value.totalCostMicroEur;
    b.due += c.value.totalCostMicroEur;
  }
  for (const tx of invoice.corrections) {
    const c = tx.record?.content;
    if (c?.case !== "correction") continue;
    const b = bucket(c.value.currency || "EUR");
    b.corrections += c.value.amountMicro;
    b.due += c.value.amountMicro;
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The invoice's money totals against its lines and corrections, per currency (same rules as
 * verifier/metering.py check_totals): each currency's `totals` entry is its sums; with several
 * currencies the single-currency fields are 0, with one they are its sums. */
export function checkTotals(invoice: Invoice): string[] {
  const sums = currencySums(invoice);
  const problems: string[] = [];
  if (invoice.totals.length > 0 || sums.size > 1) {
    const key = (c: string, lines: number, wh: bigint, cost: bigint, fix: bigint, due: bigint) => `${c}:${lines.toString()}:${wh.toString()}:${cost.toString()}:${fix.toString()}:${due.toString()}`;
    const claimed = invoice.totals.map((t) => key(t.currency, t.lineCount, t.totalWh, t.totalCostMicro, t.correctionTotalMicro, t.amountDueMicro)).join("|");
    const actual = [...sums.values()].map((t) => key(t.currency, t.lines, t.wh, t.cost, t.corrections, t.due)).join("|");
    if (claimed !== actual) problems.push("the invoice's totals per currency are not the sums of its lines and corrections");
  }
  if (sums.size > 1) {
    if (invoice.totalCostMicroEur !== 0n || invoice.correctionTotalMicroEur !== 0n || invoice.amountDueMicroEur !== 0n || invoice.currency) {
      problems.push(`the invoice adds ${[...sums.keys()].join(", ")} into one total`);
    }
  } else {
    const only = [...sums.values()][0];
    if (only && only.cost !== invoice.totalCostMicroEur) problems.push("the invoice totals are not the sum of its lines");
    if (only && invoice.currency && invoice.currency !== only.currency) problems.push(`the invoice says ${invoice.currency}, its lines are in ${only.currency}`);
  }
  return problems;
}

async function verifiedKeys(invoice: Invoice): Promise<Map<string, Uint8Array<ArrayBuffer>>> {
  const keys = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const tx of invoice.meterKeys) {
    const c = tx.record?.content;
    if (c?.case !== "meterKey") continue;
    const k = c.value;
    const id = bytesToHex((await sha256(k.publicKey)).slice(0, 16));
    if (k.householdId === invoice.householdId && k.algorithm === "ed25519" && k.publicKey.length === 32 && id === k.keyId) {
      keys.set(`${k.meterId}/${k.keyId}`, new Uint8Array(k.publicKey));
    }
  }
  return keys;
}

/** The period's energy as the meters signed it; throws with the reason when a check fails. */
export async function signedEnergy(s: SettlementRecord, keys: Map<string, Uint8Array<ArrayBuffer>>): Promise<bigint> {
  const start = tsMs(s.periodStart);
  const end = start + s.periodSeconds * 1000n;
  if (s.meterPeriods.length === 0) throw new Error("names no meter");
  let total = 0n;
  for (const m of s.meterPeriods) {
    const key = keys.get(`${m.meterId}/${m.keyId}`);
    if (!key) throw new Error(`no verified meter-key record for ${m.meterId}`);
    for (const v of [m.start, m.end]) {
      if (!v) throw new Error(`${m.meterId}: a signed value is missing`);
      const message = boundaryMessage(m.meterId, tsMs(v.boundaryTime), v.importWh, v.exportWh, v.seq);
      if (!(await verifyEd25519(key, new Uint8Array(v.signature), message))) {
        throw new Error(`${m.meterId}: the value at ${new Date(Number(tsMs(v.boundaryTime))).toISOString()} is not signed by the meter`);
      }
    }
    if (!m.start || !m.end || tsMs(m.start.boundaryTime) !== start || tsMs(m.end.boundaryTime) !== end) {
      throw new Error(`${m.meterId}: signed values are not at the period's boundaries`);
    }
    total += m.end.importWh - m.start.importWh - (m.end.exportWh - m.start.exportWh);
  }
  if (total !== s.meteredWh) throw new Error(`billed ${s.meteredWh.toString()} Wh but the meter signed ${total.toString()} Wh`);
  const parts = s.components.reduce((sum, c) => sum + c.amountMicro, 0n);
  if (parts !== s.totalCostMicroEur) throw new Error("the components do not sum to the total");
  return total;
}

/** Count, chain and totals of an invoice whose records are visible (§16.4). */
export async function checkInvoice(invoice: Invoice, headTimeMs: bigint): Promise<InvoiceCompleteness> {
  const problems: string[] = [];
  const settlements = invoice.lines.flatMap((l) => (l.transaction?.record?.content.case === "settlement" ? [l.transaction.record.content.value] : []));
  const signed = settlements.filter((s) => s.formatVersion === METER_VALUES_VERSION);
  const keys = await verifiedKeys(invoice);
  const spans: [bigint, bigint][] = [];
  for (const s of settlements) {
    if (s.formatVersion === METER_VALUES_VERSION) {
      const a = tsMs(s.periodStart);
      spans.push([a, a + s.periodSeconds * 1000n]);
      try {
        await signedEnergy(s, keys);
      } catch (error) {
        problems.push(`${new Date(Number(a)).toISOString()}: ${error instanceof Error ? error.message : String(error)}`);
      }
    } else {
      const a = tsMs(s.hourStart);
      spans.push([a, a + HOUR_MS]);
    }
  }
  // A meter-signed household's month with no line yet takes its period from its unbilled records.
  const first = invoice.unbilled.map((t) => t.record?.content).find((c) => c?.case === "unbilledPeriod");
  const run = first?.case === "unbilledPeriod" ? first.value : undefined;
  const periodMs = signed[0] ? signed[0].periodSeconds * 1000n : run ? run.periodSeconds * 1000n : HOUR_MS;
  const fixes = checkCorrections(invoice);
  problems.push(...fixes.problems);
  const result: InvoiceCompleteness = { legacy: signed.length === 0 && !run, periodMs, expected: 0, settled: 0, missing: [], open: 0, problems, complete: false, corrections: fixes.lines, reasons: [] };
  if (periodMs <= 0n || HOUR_MS % periodMs !== 0n) {
    problems.push("the settlement period does not divide an hour");
    return result;
  }
  const covered = new Map<bigint, number>();
  for (const [a, b] of spans) for (let p = a - (a % periodMs); p < b; p += periodMs) covered.set(p, (covered.get(p) ?? 0) + 1);
  const begin = tsMs(invoice.periodStart);
  const finish = tsMs(invoice.periodEnd);
  const listed = new Map(invoice.missingPeriods.map((m) => [tsMs(m.periodStart), m.reason]));
  const logged = unbilledReasons(invoice, periodMs);
  let unlisted = 0;
  let misreported = 0;
  for (let p = begin + ((periodMs - (begin % periodMs)) % periodMs); p < finish; p += periodMs) {
    result.expected++;
    const n = covered.get(p) ?? 0;
    if (n > 1) problems.push(`the period at ${new Date(Number(p)).toISOString()} is billed ${n.toString()} times`);
    if (n) result.settled++;
    else if (p + periodMs > headTimeMs) result.open++;
    else {
      result.missing.push(p);
      // The reason is the log's (a proven record), never only the server's word.
      const why = logged.get(p) ?? { startMs: p, reason: NOT_SETTLED, detail: "", txHash: "" };
      result.reasons.push(why);
      const said = listed.get(p);
      if (said === undefined) unlisted++;
      else if (said !== why.reason) misreported++;
    }
  }
  if (unlisted) problems.push(`${unlisted.toString()} periods are neither billed nor listed as missing`);
  if (misreported) problems.push(`${misreported.toString()} missing periods give another reason than the ledger's records`);
  // The chain: per meter, each period starts with the values the previous one ended with.
  const ends = new Map<string, string>();
  for (const s of signed) for (const m of s.meterPeriods) if (m.end) ends.set(`${m.meterId}@${tsMs(m.end.boundaryTime).toString()}`, `${m.end.importWh.toString()}/${m.end.exportWh.toString()}`);
  for (const s of signed) {
    for (const m of s.meterPeriods) {
      if (!m.start) continue;
      const before = ends.get(`${m.meterId}@${tsMs(m.start.boundaryTime).toString()}`);
      if (before !== undefined && before !== `${m.start.importWh.toString()}/${m.start.exportWh.toString()}`) {
        problems.push(`${m.meterId}: the period at ${new Date(Number(tsMs(m.start.boundaryTime))).toISOString()} does not start where the previous ended`);
      }
    }
  }
  const wh = settlements.reduce((sum, s) => sum + s.meteredWh, 0n);
  if (wh !== invoice.totalWh) problems.push("the invoice totals are not the sum of its lines");
  problems.push(...checkTotals(invoice)); // money: per currency, never across currencies
  result.complete = result.missing.length === 0 && problems.length === 0;
  return result;
}
