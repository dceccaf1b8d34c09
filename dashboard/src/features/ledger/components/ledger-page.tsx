import { useState, type SubmitEvent } from "react";
import { Link, useNavigate } from "react-router";

import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { TextField } from "@/components/ui/field";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import type { Block } from "@/gen/energypulse/ledger/v1/record_pb";
import { lastItem } from "@/lib/arrays";
import { fmtDateTime, fmtRelative, shortHash } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { type Messages, useT } from "@/lib/i18n";

import { useBlocks } from "../api/list-blocks";
import { ChainCard } from "./chain-card";
import { HeadCard } from "./head-card";

const blockColumns = (t: Messages["ledger"]["explorer"]): Column<Block>[] => [
  {
    id: "height",
    header: t.height,
    rowHeader: true,
    cell: (b) => (
      <Link to={`/ledger/blocks/${b.height}`} className="font-medium text-brand-700 hover:underline">
        #{b.height.toString()}
      </Link>
    ),
  },
  {
    id: "hash",
    header: t.blockHash,
    cellClassName: "font-mono text-xs text-slate-600",
    cell: (b) => (
      <>
        <span className="sm:hidden">{shortHash(b.blockHash, 6)}</span>
        <span className="hidden sm:inline">{shortHash(b.blockHash, 10)}</span>
      </>
    ),
  },
  { id: "root", header: t.merkleRoot, className: "hidden sm:table-cell", cellClassName: "font-mono text-xs text-slate-600", cell: (b) => shortHash(b.merkleRoot, 10) },
  {
    id: "txs",
    header: (
      <>
        <span className="sm:hidden">{t.txsShort}</span>
        <span className="hidden sm:inline">{t.transactions}</span>
      </>
    ),
    align: "right",
    cellClassName: "tabular-nums",
    cell: (b) => b.txCount,
  },
  {
    id: "sealed",
    header: t.sealed,
    cellClassName: "whitespace-nowrap text-slate-600",
    cell: (b) => <span title={fmtDateTime(tsDate(b.sealTime))}>{fmtRelative(tsDate(b.sealTime))}</span>,
  },
];

export function LedgerPage() {
  const t = useT().ledger.explorer;
  const [pages, setPages] = useState<string[]>([""]);
  const pageToken = lastItem(pages);
  const blocks = useBlocks(pageToken);
  const navigate = useNavigate();
  const [lookup, setLookup] = useState("");
  const [lookupError, setLookupError] = useState("");

  const find = (event: SubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = lookup.trim().toLowerCase();
    if (/^[0-9a-f]{64}$/.test(value)) void navigate(`/ledger/transactions/${value}`);
    else if (/^\d+$/.test(value)) void navigate(`/ledger/blocks/${value}`);
    else setLookupError(t.badLookup);
  };

  return (
    <>
      <PageHeader title={t.title} description={t.description} />
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
        <HeadCard />
        <div className="space-y-4">
          <ChainCard />
          <Card>
            <form onSubmit={find} className="flex items-end gap-2 p-5" role="search">
              <TextField
                className="flex-1"
                label={t.find}
                placeholder={t.findPlaceholder}
                value={lookup}
                onChange={(e) => {
                  setLookup(e.target.value);
                  setLookupError("");
                }}
                hint={lookupError || undefined}
                aria-invalid={Boolean(lookupError)}
              />
              <Button type="submit" variant="secondary">
                {t.go}
              </Button>
            </form>
          </Card>
        </div>
        <Card className="lg:col-span-2" aria-labelledby="blocks-title">
          <CardHeader id="blocks-title" title={t.latest} description={t.newestFirst} />
          {blocks.isPending ? (
            <LoadingState label={t.loading} className="h-48" />
          ) : blocks.error ? (
            <ErrorState error={blocks.error} onRetry={() => void blocks.refetch()} className="h-48" />
          ) : blocks.data.blocks.length === 0 ? (
            <EmptyState title={t.none} description={t.noneSub} className="h-48" />
          ) : (
            <>
              <DataTable
                caption={t.caption}
                className="sm:min-w-[640px]"
                columns={blockColumns(t)}
                rows={blocks.data.blocks}
                rowKey={(b) => b.height.toString()}
                rowProps={() => ({ className: "hover:bg-slate-50" })}
                bodyProps={{ "data-testid": "blocks" }}
              />
              <div className="flex items-center justify-between border-t border-slate-100 px-5 py-3">
                <Button variant="secondary" size="sm" disabled={pages.length <= 1} onClick={() => setPages((p) => p.slice(0, -1))}>
                  {t.newer}
                </Button>
                <span className="text-xs text-slate-500">{t.page(pages.length)}</span>
                <Button variant="secondary" size="sm" disabled={!blocks.data.nextPageToken} onClick={() => setPages((p) => [...p, blocks.data.nextPageToken])}>
                  {t.older}
                </Button>
              </div>
            </>
          )}
        </Card>
      </div>
    </>
  );
}
