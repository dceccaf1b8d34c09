import { skipToken, useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";

import { RecordKind } from "@/gen/energypulse/ledger/v1/record_pb";
import { getInclusionProof } from "@/lib/api/get-inclusion-proof";
import { useT, type Messages } from "@/lib/i18n";
import { useVerifiedHead } from "@/lib/ledger/use-verified-head";
import { verifyTransaction } from "@/lib/ledger/verify";
import { tsDate } from "@/lib/proto-json";

import { useTransaction } from "../api/get-transaction";
import { localTime, rawRecord, recordInWords } from "../lib/record-words";

type KindKey = keyof Messages["ledger"]["transaction"]["kinds"];
const KIND_WORDS: Partial<Record<RecordKind, KindKey>> = {
  [RecordKind.SETTLEMENT]: "settlement",
  [RecordKind.PREDICTION]: "prediction",
  [RecordKind.CORRECTION]: "correction",
  [RecordKind.UNBILLED_PERIOD]: "unbilled",
};

export function TransactionPage() {
  const { txHash = "" } = useParams();
  const words = useT().ledger;
  const w = words.transaction;
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
      <PageHeader title={w.title} description={<Link to="/ledger" className="text-brand-700 hover:underline">{words.block.back}</Link>} />
      {tx.isPending ? (
        <LoadingState />
      ) : tx.error ? (
        <ErrorState error={tx.error} onRetry={() => void tx.refetch()} />
      ) : !t ? (
        <Card>
          <EmptyState title={w.none} description={w.noneSub} className="h-48" />
        </Card>
      ) : (
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
          <Card aria-labelledby="tx-title">
            <CardHeader id="tx-title" title={w.kinds[KIND_WORDS[t.kind] ?? "meterKey"]} description={w.where(t.leafIndex.toString(), t.blockHeight >= 0n ? t.blockHeight.toString() : undefined)} />
            <CardBody>
              <dl className="space-y-2 text-sm">
                <div>
                  <dt className="text-xs text-slate-500">{w.hash}</dt>
                  <dd className="font-mono text-xs break-all">{t.txHash}</dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">{w.previous}</dt>
                  <dd className="font-mono text-xs break-all">{t.prevTxHash}</dd>
                </div>
                <div>
                  <dt className="text-xs text-slate-500">{w.appended}</dt>
                  <dd>{localTime(tsDate(t.appendTime))}</dd>
                </div>
                {t.blockHeight >= 0n && (
                  <div>
                    <dt className="text-xs text-slate-500">{w.block}</dt>
                    <dd>
                      <Link className="text-brand-700 hover:underline" to={`/ledger/blocks/${t.blockHeight}`}>
                        #{t.blockHeight.toString()}
                      </Link>{" "}
                      {w.position(t.indexInBlock)}
                    </dd>
                  </div>
                )}
              </dl>
              <h3 className="mt-5 mb-2 text-xs font-semibold text-slate-700 uppercase">{w.record}</h3>
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
                    <summary className="cursor-pointer text-xs font-medium text-slate-700">{w.raw}</summary>
                    <table className="mt-2 w-full text-sm">
                      <caption className="sr-only">{w.rawFields}</caption>
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
                <p className="text-sm text-slate-500">{w.hidden}</p>
              )}
            </CardBody>
          </Card>
          <Card aria-labelledby="proof-title">
            <CardHeader id="proof-title" title={w.proof} description={h ? w.against(h.treeSize.toString()) : w.againstCurrent} />
            <CardBody>
              {verdict.isPending ? (
                <LoadingState label={w.fetching} />
              ) : verdict.error ? (
                <ErrorState error={verdict.error} onRetry={() => void verdict.refetch()} />
              ) : (
                <>
                  <div className="mb-4 flex flex-wrap gap-2">
                    {verdict.data.v ? (
                      <>
                        <Badge tone={verdict.data.v.hashValid ? "good" : "bad"}>{verdict.data.v.hashValid ? w.hashMatches : w.hashMismatch}</Badge>
                        <Badge tone={verdict.data.v.inclusionValid ? "good" : verdict.data.v.pending ? "warn" : "bad"}>
                          {verdict.data.v.inclusionValid ? w.included : verdict.data.v.pending ? w.newer : w.failed}
                        </Badge>
                      </>
                    ) : (
                      <Badge>{w.recordHidden}</Badge>
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
