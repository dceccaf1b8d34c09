import { skipToken, useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";

import { RecordKind } from "@/gen/energypulse/ledger/v1/record_pb";
import { getInclusionProof } from "@/lib/api/get-inclusion-proof";
import { useVerifiedHead } from "@/lib/ledger/use-verified-head";
import { verifyTransaction } from "@/lib/ledger/verify";
import { tsDate } from "@/lib/proto-json";

import { useTransaction } from "../api/get-transaction";
import { localTime, rawRecord, recordInWords } from "../lib/record-words";

const KIND_WORDS: Partial<Record<RecordKind, string>> = {
  [RecordKind.SETTLEMENT]: "Settled hour (what was billed)",
  [RecordKind.PREDICTION]: "Forecast (what was expected)",
  [RecordKind.CORRECTION]: "Correction of a billed period",
  [RecordKind.UNBILLED_PERIOD]: "Periods not billed, and why",
};

export function TransactionPage() {
  const { txHash = "" } = useParams();
  const tx = useTransaction(txHash);
  const head = useVerifiedHead();
  const t = tx.data?.transaction;
  const h = head.data?.head;
  const verdict = useQuery({
    queryKey: ["ledger", "tx-verdict", txHash, h?.treeSize.toString()],
    staleTime: Infinity,
    queryFn:
      t && h
        ? async () => {
            const proof = t.leafIndex < h.treeSize ? await getInclusionProof(t.txHash, h.treeSize) : null;
            const v = t.record ? await verifyTransaction(t, proof, h) : null;
            return { proof, v };
          }
        : skipToken,
  });

  return (
    <>
      <PageHeader title="Transaction" description={<Link to="/ledger" className="text-brand-700 hover:underline">← Ledger explorer</Link>} />
      {tx.isPending ? (
        <LoadingState />
      ) : tx.error ? (
        <ErrorState error={tx.error} onRetry={() => void tx.refetch()} />
      ) : !t ? (
        <Card>
          <EmptyState title="No such transaction" description="The ledger holds no transaction with this hash." className="h-48" />
        </Card>
      ) : (
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
          <Card aria-labelledby="tx-title">
            <CardHeader id="tx-title" title={KIND_WORDS[t.kind] ?? "Meter key"} description={`Leaf ${t.leafIndex} · ${t.blockHeight >= 0n ? `block #${t.blockHeight}` : "not yet sealed"}`} />
            <CardBody>
              <dl className="space-y-2 text-sm">
                <div>
                  <dt className="text-xs text-slate-500">Hash</dt>
                  <dd className="font-mono text-xs break-all">{t.txHash}</dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">Previous</dt>
                  <dd className="font-mono text-xs break-all">{t.prevTxHash}</dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">Appended</dt>
                  <dd>{localTime(tsDate(t.appendTime))}</dd>
                </div>
                {t.blockHeight >= 0n && (
                  <div>
                    <dt className="text-xs text-slate-500">Block</dt>
                    <dd>
                      <Link className="text-brand-700 hover:underline" to={`/ledger/blocks/${t.blockHeight}`}>
                        #{t.blockHeight.toString()}
                      </Link>{" "}
                      position {t.indexInBlock}
                    </dd>
                  </div>
                )}
              </dl>
              <h3 className="mt-5 mb-2 text-xs font-semibold text-slate-700 uppercase">Record</h3>
              {t.record ? (
                <>
                  <dl className="divide-y divide-slate-100 text-sm" data-testid="record-words">
                    {recordInWords(t).map((line) => (
                      <div key={line.field} className="flex flex-wrap justify-between gap-x-3 py-1" data-field={line.field}>
                        <dt className="text-slate-600">{line.label}</dt>
                        <dd className="ml-auto text-right tabular-nums break-words text-slate-900">{line.value}</dd>
                      </div>
                    ))}
                  </dl>
                  <details className="mt-4 rounded-lg bg-slate-50 px-3 py-2" data-testid="raw-record">
                    <summary className="cursor-pointer text-xs font-medium text-slate-700">Raw record (as stored and hashed: micro-units, UTC)</summary>
                    <table className="mt-2 w-full text-sm">
                      <caption className="sr-only">Raw record fields</caption>
                      <tbody className="divide-y divide-slate-100">
                        {rawRecord(t).map(([k, v]) => (
                          <tr key={k}>
                            <th scope="row" className="py-1 pr-3 text-left font-mono text-xs font-normal text-slate-600 break-all">{k}</th>
                            <td className="py-1 font-mono text-xs break-all">{v}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </details>
                </>
              ) : (
                <p className="text-sm text-slate-500">The content is visible only to the household's owner and admins.</p>
              )}
            </CardBody>
          </Card>
          <Card aria-labelledby="proof-title">
            <CardHeader id="proof-title" title="Inclusion proof" description={h ? `Against the signed head of size ${h.treeSize}` : "Against the current signed head"} />
            <CardBody>
              {verdict.isPending ? (
                <LoadingState label="Fetching and checking the proof…" />
              ) : verdict.error ? (
                <ErrorState error={verdict.error} onRetry={() => void verdict.refetch()} />
              ) : (
                <>
                  <div className="mb-4 flex flex-wrap gap-2">
                    {verdict.data.v ? (
                      <>
                        <Badge tone={verdict.data.v.hashValid ? "good" : "bad"}>{verdict.data.v.hashValid ? "Hash recomputed: matches" : "Hash MISMATCH"}</Badge>
                        <Badge tone={verdict.data.v.inclusionValid ? "good" : verdict.data.v.pending ? "warn" : "bad"}>
                          {verdict.data.v.inclusionValid ? "Included in the signed tree" : verdict.data.v.pending ? "Newer than the signed head" : "Inclusion proof FAILED"}
                        </Badge>
                      </>
                    ) : (
                      <Badge>Record hidden: hash not recomputed</Badge>
                    )}
                  </div>
                  {verdict.data.proof && (
                    <ol className="space-y-1">
                      {verdict.data.proof.auditPath.map((p, i) => (
                        <li key={`${i}-${p}`} className="flex gap-2 font-mono text-xs">
                          <span className="w-5 text-right text-slate-500">{i}</span>
                          <span className="break-all text-slate-700">{p}</span>
                        </li>
                      ))}
                    </ol>
                  )}
                </>
              )}
            </CardBody>
          </Card>
        </div>
      )}
    </>
  );
}
