import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import { fmtInteger } from "@/lib/format";
import { useT } from "@/lib/i18n";

import { useVerifyChain } from "../api/verify-chain";

export function ChainCard() {
  const t = useT().ledger.chain;
  const chain = useVerifyChain();
  const c = chain.data;
  // The fault in the page's words when the code is a known one (the server's detail is English).
  const fault = c?.reason && Object.hasOwn(t.faults, c.reason) ? t.faults[c.reason] : undefined;
  return (
    <Card aria-labelledby="chain-title">
      <CardHeader
        id="chain-title"
        title={t.title}
        description={t.description}
        action={
          <Button variant="secondary" size="sm" onClick={() => void chain.refetch()} loading={chain.isFetching}>
            {t.rerun}
          </Button>
        }
      />
      <CardBody>
        {chain.isPending ? (
          <LoadingState label={t.verifying} />
        ) : chain.error ? (
          <ErrorState error={chain.error} onRetry={() => void chain.refetch()} />
        ) : (
          c && (
            <>
              <div className="mb-4" data-testid="chain-status">
                {c.valid ? <Badge tone="good">{t.intact}</Badge> : <Badge tone="bad">{t.fault(fault ?? (c.reason || t.invalid))}</Badge>}
              </div>
              <dl className="grid grid-cols-2 gap-4">
                <Stat label={t.blocks} value={fmtInteger(c.blocksChecked)} />
                <Stat label={t.transactions} value={fmtInteger(c.transactionsChecked)} />
              </dl>
              {!c.valid && (
                <p className="mt-3 text-sm text-rose-700">
                  {fault === undefined ? t.firstBad(c.firstBadHeight.toString(), c.detail) : t.firstBadAt(c.firstBadHeight.toString())}
                </p>
              )}
            </>
          )
        )}
      </CardBody>
    </Card>
  );
}
