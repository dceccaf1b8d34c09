import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { AlertIcon } from "@/components/ui/icons";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { fmtDateTime, shortHash } from "@/lib/format";
import { consistencyText, signatureText, witnessText } from "@/lib/ledger/head-status";
import { forgetTrustedHead } from "@/lib/ledger/trusted-head";
import { useVerifiedHead } from "@/lib/ledger/use-verified-head";
import { tsDate } from "@/lib/proto-json";
import { useT } from "@/lib/i18n";

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[7rem_1fr] gap-2 py-1.5 text-sm">
      <dt className="text-slate-500">{label}</dt>
      <dd className="min-w-0 break-all text-slate-800">{children}</dd>
    </div>
  );
}

export function HeadCard() {
  const t = useT().ledger.head;
  const verified = useVerifiedHead();
  const v = verified.data;
  const danger = v && (["rewritten", "rolled-back", "key-changed"].includes(v.consistency.status) || v.witness.status === "forked");
  return (
    <Card aria-labelledby="head-title">
      <CardHeader id="head-title" title={t.title} description={t.description} action={v && <Badge tone={v.trusted ? "good" : "bad"}>{v.trusted ? t.trusted : t.notTrusted}</Badge>} />
      <CardBody>
        {verified.isPending ? (
          <LoadingState label={t.checking} />
        ) : verified.error ? (
          <ErrorState error={verified.error} onRetry={() => void verified.refetch()} />
        ) : (
          v && (
            <>
              {danger && (
                <div role="alert" data-testid="history-rewritten" className="mb-4 flex gap-3 rounded-lg bg-rose-600 p-4 text-white shadow">
                  <AlertIcon className="size-6 shrink-0" />
                  <div>
                    <p className="font-semibold">{t.warning}</p>
                    <p className="mt-1 text-sm text-rose-50">{t.doNotTrust(v.witness.status === "forked" ? v.witness.detail : v.consistency.detail)}</p>
                    <Button variant="secondary" size="sm" className="mt-3" onClick={() => { forgetTrustedHead(); void verified.refetch(); }}>
                      {t.forget}
                    </Button>
                  </div>
                </div>
              )}
              <dl className="divide-y divide-slate-100">
                <Row label={t.treeSize}>
                  <span className="font-semibold tabular-nums" data-testid="head-size">{v.head.treeSize.toString()}</span> {t.transactions}
                </Row>
                <Row label={t.rootHash}>
                  <span className="font-mono text-xs">{v.head.rootHash}</span>
                </Row>
                <Row label={t.signedAt}>{fmtDateTime(tsDate(v.head.timestamp))}</Row>
                <Row label={t.keyId}>
                  <span className="font-mono text-xs" title={v.head.keyId}>{shortHash(v.head.keyId, 12)}</span>
                </Row>
                <Row label={t.signature}>
                  <Badge tone={signatureText(v).tone}>{signatureText(v).label}</Badge>
                </Row>
                <Row label={t.witness}>
                  <span data-testid="head-witness"><Badge tone={witnessText(v).tone}>{witnessText(v).label}</Badge></span>
                  <p className="mt-1 text-xs text-slate-500">{v.witness.detail}</p>
                </Row>
                <Row label={t.history}>
                  <Badge tone={consistencyText(v).tone}>{consistencyText(v).label}</Badge>
                  {v.previousVerifiedAt && <p className="mt-1 text-xs text-slate-500">{t.previous} <span className="whitespace-nowrap">{fmtDateTime(new Date(v.previousVerifiedAt))}</span></p>}
                </Row>
              </dl>
            </>
          )
        )}
      </CardBody>
    </Card>
  );
}
