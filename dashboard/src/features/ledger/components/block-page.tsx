import { skipToken, useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import type { Block, Transaction } from "@/gen/energypulse/ledger/v1/record_pb";
import { RecordKind } from "@/gen/energypulse/ledger/v1/record_pb";
import { fmtDateTime, shortHash } from "@/lib/format";
import { useT, type Messages } from "@/lib/i18n";
import { bytesToHex, hexToBytes, sha256 } from "@/lib/ledger/bytes";
import { encodeBlockHeader } from "@/lib/ledger/canonical";
import { leafHash, rootOf } from "@/lib/ledger/merkle";
import { tsDate, tsMs } from "@/lib/proto-json";

import { useBlock } from "../api/get-block";

function txColumnsIn(w: Messages["ledger"]["block"]): Column<Transaction>[] {
  return [
  { id: "leaf", header: w.leaf, rowHeader: true, cellClassName: "tabular-nums", cell: (t) => t.leafIndex.toString() },
  {
    id: "hash",
    header: w.hash,
    cell: (t) => (
      <Link to={`/ledger/transactions/${t.txHash}`} className="font-mono text-xs text-brand-700 hover:underline">
        {shortHash(t.txHash, 10)}
      </Link>
    ),
  },
  {
    id: "kind",
    header: w.kind,
    cell: (t) => <Badge tone={t.kind === RecordKind.SETTLEMENT ? "info" : "neutral"}>{t.kind === RecordKind.SETTLEMENT ? w.settlement : t.kind === RecordKind.PREDICTION ? w.prediction : "—"}</Badge>,
  },
  { id: "household", header: w.household, cellClassName: "text-slate-600", cell: (t) => t.householdId || <span className="text-slate-400">{w.zone}</span> },
  { id: "appended", header: w.appended, cellClassName: "text-slate-600", cell: (t) => fmtDateTime(tsDate(t.appendTime)) },
  ];
}

/** Recomputes the block hash (spec §5) and its Merkle root from the listed transaction hashes. */
async function checkBlock(block: Block, txs: Transaction[]) {
  const header = encodeBlockHeader({
    height: block.height,
    prevBlockHash: hexToBytes(block.prevBlockHash),
    merkleRoot: hexToBytes(block.merkleRoot),
    firstTxIndex: block.firstLeafIndex,
    txCount: block.txCount,
    sealedAtMs: tsMs(block.sealTime),
  });
  const hashOk = bytesToHex(await sha256(header)) === block.blockHash;
  const leaves = await Promise.all(txs.map((t) => leafHash(hexToBytes(t.txHash))));
  const rootOk = txs.length === block.txCount && bytesToHex(await rootOf(leaves)) === block.merkleRoot;
  return { hashOk, rootOk };
}

export function BlockPage() {
  const { height = "0" } = useParams();
  const w = useT().ledger.block;
  const block = useBlock(height);
  const b = block.data?.block;
  const txs = block.data?.transactions ?? [];
  const check = useQuery({
    queryKey: ["ledger", "block-check", height, b?.blockHash],
    queryFn: b ? () => checkBlock(b, txs) : skipToken,
    staleTime: Infinity,
  });

  return (
    <>
      <PageHeader title={w.title(height)} description={<Link to="/ledger" className="text-brand-700 hover:underline">{w.back}</Link>} />
      {block.isPending ? (
        <LoadingState />
      ) : block.error ? (
        <ErrorState error={block.error} onRetry={() => void block.refetch()} />
      ) : !b ? (
        <Card>
          <EmptyState title={w.none(height)} description={w.noneSub} className="h-48" />
        </Card>
      ) : (
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
          <Card aria-labelledby="block-header-title">
            <CardHeader id="block-header-title" title={w.header} description={w.recomputed} />
            <CardBody>
              <div className="mb-3 flex flex-wrap gap-2">
                {check.data ? (
                  <>
                    <Badge tone={check.data.hashOk ? "good" : "bad"}>{check.data.hashOk ? w.hashMatches : w.hashMismatch}</Badge>
                    <Badge tone={check.data.rootOk ? "good" : "bad"}>{check.data.rootOk ? w.rootMatches : w.rootMismatch}</Badge>
                  </>
                ) : (
                  <Badge>{w.checking}</Badge>
                )}
              </div>
              <dl className="grid grid-cols-2 gap-x-2 gap-y-2 text-sm">
                {[
                  [w.blockHash, b.blockHash],
                  [w.previous, b.prevBlockHash],
                  [w.merkleRoot, b.merkleRoot],
                ].map(([k, v]) => (
                  <div key={k} className="col-span-2">
                    <dt className="text-xs text-slate-500">{k}</dt>
                    <dd className="font-mono text-xs break-all text-slate-800">{v}</dd>
                  </div>
                ))}
                <div className="pt-2">
                  <dt className="text-xs text-slate-500">{w.transactions}</dt>
                  <dd>{w.fromLeaf(b.txCount, b.firstLeafIndex.toString())}</dd>
                </div>
                <div className="pt-2">
                  <dt className="text-xs text-slate-500">{w.sealed}</dt>
                  <dd>{fmtDateTime(tsDate(b.sealTime))}</dd>
                </div>
              </dl>
            </CardBody>
          </Card>
          <Card className="lg:col-span-2" aria-labelledby="block-txs-title">
            <CardHeader id="block-txs-title" title={w.transactions} />
            {txs.length === 0 ? (
              <EmptyState title={w.noTransactions} />
            ) : (
              <DataTable caption={w.caption(height)} className="min-w-[560px]" columns={txColumnsIn(w)} rows={txs} rowKey={(t) => t.txHash} rowProps={() => ({ className: "hover:bg-slate-50" })} />
            )}
          </Card>
        </div>
      )}
    </>
  );
}
