/**
 * "Verify" on the invoice page: everything happens here in the browser. The signed head is
 * checked (Ed25519 + key id + consistency with the last head this browser trusted), then every
 * line's hash is recomputed from its record and proven into that head with an inclusion proof.
 */
import { useMutation } from "@tanstack/react-query";

import type { Invoice } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { getInclusionProof } from "@/lib/api/get-inclusion-proof";
import { checkInvoice, type InvoiceCompleteness } from "@/lib/ledger/metering";
import { fetchVerifiedHead, type VerifiedHead } from "@/lib/ledger/use-verified-head";
import { verifyTransaction, type TxVerdict } from "@/lib/ledger/verify";
import { tsMs } from "@/lib/proto-json";

export interface InvoiceVerification {
  head: VerifiedHead;
  verdicts: Map<string, TxVerdict>;
  passed: number;
  failed: number;
  pending: number;
  /** Every period accounted for, the signed values chained, the totals; undefined when records are hidden. */
  completeness: InvoiceCompleteness | undefined;
}

const PARALLEL = 6;

/**
 * The household's chain, in the browser: meter signature -> settlement energy -> invoice line ->
 * inclusion proof -> signed head. The meter-key records are proven like the lines.
 */
export async function verifyInvoice(invoice: Invoice): Promise<InvoiceVerification> {
  const head = await fetchVerifiedHead();
  const verdicts = new Map<string, TxVerdict>();
  // Lines, the meter-key records, the operator corrections and the unbilled-period records that
  // give the missing periods' reasons: each proven into the head.
  const queue = [...invoice.lines.map((l) => l.transaction).filter((tx) => tx !== undefined), ...invoice.meterKeys, ...invoice.corrections, ...invoice.unbilled];
  const worker = async () => {
    for (let tx = queue.shift(); tx; tx = queue.shift()) {
      let proof = null;
      if (tx.leafIndex < head.head.treeSize) {
        try {
          const p = await getInclusionProof(tx.txHash, head.head.treeSize);
          proof = { leafIndex: p.leafIndex, treeSize: p.treeSize, auditPath: p.auditPath };
        } catch {
          proof = null; // the verdict reports "no inclusion proof"
        }
      }
      verdicts.set(tx.txHash, await verifyTransaction(tx, proof, head.head));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  let passed = 0;
  let failed = 0;
  let pending = 0;
  for (const v of verdicts.values()) {
    if (v.hashValid && v.inclusionValid) passed++;
    else if (v.hashValid && v.pending) pending++;
    else failed++;
  }
  const visible = invoice.lines.every((l) => l.transaction?.record !== undefined);
  const completeness = visible ? await checkInvoice(invoice, tsMs(head.head.timestamp)) : undefined;
  return { head, verdicts, passed, failed, pending, completeness };
}

export function useVerifyInvoice() {
  return useMutation({ mutationFn: verifyInvoice });
}
