import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";

import { useVerifyChain } from "../api/verify-chain";

export function ChainCard() {
  const chain = useVerifyChain();
  const c = chain.data;
  return (
    <Card aria-labelledby="chain-title">
      <CardHeader
        id="chain-title"
        title="Chain verification"
        description="The ledger re-checks every block, hash and Merkle root"
        action={
          <Button variant="secondary" size="sm" onClick={() => void chain.refetch()} loading={chain.isFetching}>
            Re-run
          </Button>
        }
      />
      <CardBody>
        {chain.isPending ? (
          <LoadingState label="Verifying the chain…" />
        ) : chain.error ? (
          <ErrorState error={chain.error} onRetry={() => void chain.refetch()} />
        ) : (
          c && (
            <>
              <div className="mb-4" data-testid="chain-status">
                {c.valid ? <Badge tone="good">Chain intact</Badge> : <Badge tone="bad">Fault: {c.reason || "invalid"}</Badge>}
              </div>
              <dl className="grid grid-cols-2 gap-4">
                <Stat label="Blocks checked" value={c.blocksChecked.toString()} />
                <Stat label="Transactions checked" value={c.transactionsChecked.toString()} />
              </dl>
              {!c.valid && (
                <p className="mt-3 text-sm text-rose-700">
                  First bad block: {c.firstBadHeight.toString()} — {c.detail}
                </p>
              )}
            </>
          )
        )}
      </CardBody>
    </Card>
  );
}
