import { useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cellPadding, DataTable, type Column } from "@/components/ui/data-table";
import { SelectField } from "@/components/ui/field";
import { AlertIcon, DownloadIcon, ShieldIcon } from "@/components/ui/icons";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import type { SettlementRecord, Transaction } from "@/gen/energypulse/ledger/v1/record_pb";
import { useInvoice } from "@/lib/api/get-invoice";
import { itemAt } from "@/lib/arrays";
import { cn } from "@/lib/cn";
import { downloadText, toCsv } from "@/lib/csv";
import { fmtDateTime, fmtEur, fmtMonth, fmtNumber, microToEur, monthOf, shortHash } from "@/lib/format";
import { consistencyText, signatureText } from "@/lib/ledger/head-status";
import type { TxVerdict } from "@/lib/ledger/verify";
import { tsDate } from "@/lib/proto-json";

import { useVerifyInvoice } from "../api/verify-invoice";
import { PeriodsCard } from "./periods-card";
import { VerdictBadge, verdictKind } from "./verdict-badge";

function recentMonths(count: number): string[] {
  const now = new Date();
  return Array.from({ length: count }, (_, i) => monthOf(new Date(now.getFullYear(), now.getMonth() - i, 1)));
}

interface Line {
  tx: Transaction;
  s: SettlementRecord | undefined;
}

interface LineVerdict {
  verdict: TxVerdict | undefined;
  kind: ReturnType<typeof verdictKind>;
}

const eur = (v: bigint | undefined) => (v === undefined ? "–" : fmtNumber(microToEur(v), 2));

/** The settlement-line columns; the verdict column shows the last verification's result. */
function lineColumns(verdictOf: (tx: Transaction) => LineVerdict): Column<Line>[] {
  const amount = (id: string, header: string, value: (s: SettlementRecord) => bigint): Column<Line> => ({
    id,
    header,
    align: "right",
    cell: ({ s }) => eur(s && value(s)),
  });
  return [
    {
      id: "hour",
      header: "Period",
      rowHeader: true,
      cellClassName: "whitespace-nowrap text-slate-700",
      cell: ({ s }) => (
        <>
          {fmtDateTime(tsDate(s?.formatVersion === 2 ? s.periodStart : s?.hourStart))}
          {s && s.formatVersion !== 2 && <span className="ml-1 text-xs text-slate-500">(hour)</span>}
        </>
      ),
    },
    { id: "kwh", header: "kWh", align: "right", cell: ({ s }) => (s ? fmtNumber(Number(s.meteredWh) / 1000, 3) : "–") },
    { id: "spot-price", header: "Spot c/kWh", align: "right", cell: ({ s }) => (s ? fmtNumber(Number(s.spotPriceMicroEurPerKwh) / 10_000, 2) : "–") },
    amount("spot", "Spot", (s) => s.spotCostMicroEur),
    amount("grid", "Grid", (s) => s.gridEnergyCostMicroEur),
    amount("capacity", "Capacity", (s) => s.capacityCostMicroEur),
    amount("standing", "Standing", (s) => s.standingChargeMicroEur),
    amount("vat", "VAT", (s) => s.vatMicroEur),
    { ...amount("total", "Total", (s) => s.totalCostMicroEur), cellClassName: "font-medium text-slate-900" },
    {
      id: "tx",
      header: "Transaction",
      cell: ({ tx }) => (
        <Link to={`/ledger/transactions/${tx.txHash}`} className="font-mono text-xs text-brand-700 hover:underline">
          {shortHash(tx.txHash)}
        </Link>
      ),
    },
    {
      id: "verdict",
      header: "Verdict",
      cell: ({ tx }) => {
        const { verdict, kind } = verdictOf(tx);
        return (
          <>
            <VerdictBadge verdict={verdict} />
            {kind === "fail" && <p className="mt-1 max-w-56 text-xs text-rose-700">{verdict?.reason}</p>}
          </>
        );
      },
    },
  ];
}

export function InvoicePage() {
  const { householdId = "" } = useParams();
  const [search, setSearch] = useSearchParams();
  const months = useMemo(() => recentMonths(12), []);
  const asked = search.get("month");
  const month = asked && /^\d{4}-\d{2}$/.test(asked) ? asked : itemAt(months, 0);
  const invoice = useInvoice(householdId, month);
  const verify = useVerifyInvoice();
  const lines = invoice.data?.invoice?.lines ?? [];
  const inv = invoice.data?.invoice;
  const result = verify.data && verify.variables === inv ? verify.data : undefined;

  const rows = lines.flatMap((line): Line[] => {
    const tx = line.transaction;
    if (!tx) return [];
    const s = tx.record?.content.case === "settlement" ? tx.record.content.value : undefined;
    return [{ tx, s }];
  });
  const verdictOf = (tx: Transaction): LineVerdict => {
    const verdict = result?.verdicts.get(tx.txHash);
    return { verdict, kind: result ? verdictKind(verdict) : "unchecked" };
  };

  const download = () => {
    const csv = toCsv(
      ["hour_start_utc", "metered_wh", "spot_price_micro_eur_per_kwh", "spot_cost_micro_eur", "grid_energy_cost_micro_eur", "capacity_cost_micro_eur", "standing_charge_micro_eur", "vat_micro_eur", "total_cost_micro_eur", "tx_hash", "leaf_index", "block_height", "verdict"],
      rows.map(({ tx, s }) => [
        tsDate(s?.hourStart)?.toISOString(),
        s?.meteredWh,
        s?.spotPriceMicroEurPerKwh,
        s?.spotCostMicroEur,
        s?.gridEnergyCostMicroEur,
        s?.capacityCostMicroEur,
        s?.standingChargeMicroEur,
        s?.vatMicroEur,
        s?.totalCostMicroEur,
        tx.txHash,
        tx.leafIndex,
        tx.blockHeight,
        result ? verdictKind(result.verdicts.get(tx.txHash)) : "",
      ]),
    );
    downloadText(`energypulse-invoice-${householdId}-${month}.csv`, csv);
  };

  return (
    <>
      <PageHeader
        title="Invoice"
        description={`${householdId} · ${fmtMonth(month)}`}
        actions={
          <>
            <SelectField label="Month" hideLabel value={month} onChange={(e) => setSearch({ month: e.target.value })}>
              {months.map((m) => (
                <option key={m} value={m}>
                  {fmtMonth(m)}
                </option>
              ))}
            </SelectField>
            <Button variant="secondary" onClick={download} disabled={!lines.length}>
              <DownloadIcon className="size-4" /> CSV
            </Button>
            <Button onClick={() => inv && verify.mutate(inv)} loading={verify.isPending} disabled={!inv || !lines.length} data-testid="verify-invoice">
              <ShieldIcon className="size-4" /> Verify
            </Button>
          </>
        }
      />

      {invoice.isPending ? (
        <Card>
          <LoadingState label="Loading the invoice…" className="h-64" />
        </Card>
      ) : invoice.error ? (
        <Card>
          <ErrorState error={invoice.error} onRetry={() => void invoice.refetch()} className="h-64" />
        </Card>
      ) : !inv || lines.length === 0 ? (
        <Card>
          <EmptyState title="No settled hours in this month" description="Settlement lines appear once each hour has been billed." className="h-64" />
        </Card>
      ) : (
        <div className="space-y-4">
          <Card>
            <CardBody>
              <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
                <Stat label="Total" value={fmtEur(microToEur(inv.totalCostMicroEur))} testId="invoice-total" />
                <Stat label="Net energy" value={`${fmtNumber(Number(inv.totalWh) / 1000, 1)} kWh`} />
                <Stat
                  label={inv.legacy ? "Settled hours" : "Settled periods"}
                  value={`${inv.coveredPeriods.toString()} of ${inv.expectedPeriods.toString()}`}
                  testId="invoice-periods"
                />
                <Stat label="Average cost per kWh" value={Number(inv.totalWh) > 0 ? `${fmtNumber((microToEur(inv.totalCostMicroEur) / (Number(inv.totalWh) / 1000)) * 100, 1)} c/kWh` : "–"} sub="fixed charges included" />
              </dl>
            </CardBody>
          </Card>

          {verify.error && (
            <Card>
              <ErrorState title="Verification could not run" error={verify.error} onRetry={() => verify.mutate(inv)} />
            </Card>
          )}
          <PeriodsCard inv={inv} completeness={result?.completeness} />
          {result && <VerificationSummary result={result} />}

          <Card aria-labelledby="lines-title">
            <CardHeader id="lines-title" title="Settlement lines" description="Each line is a ledger transaction. Amounts in EUR, VAT included in the total." />
            <DataTable
              caption={`Settlement lines of ${fmtMonth(month)}`}
              className="min-w-[860px]"
              columns={lineColumns(verdictOf)}
              rows={rows}
              rowKey={({ tx }) => tx.txHash}
              rowProps={({ tx }) => {
                const kind = verdictOf(tx).kind;
                return { "data-testid": "invoice-line", "data-verdict": kind, "data-tx": tx.txHash, className: cn("tabular-nums", kind === "fail" && "bg-rose-50/70") };
              }}
              footer={
                <tr>
                  <th scope="row" className={cn(cellPadding, "text-left")}>
                    Total
                  </th>
                  <td className={cn(cellPadding, "text-right")}>{fmtNumber(Number(inv.totalWh) / 1000, 3)}</td>
                  <td colSpan={6} />
                  <td className={cn(cellPadding, "text-right")}>{fmtNumber(microToEur(inv.totalCostMicroEur), 2)}</td>
                  <td colSpan={2} />
                </tr>
              }
            />
          </Card>
        </div>
      )}
    </>
  );
}

function VerificationSummary({ result }: { result: NonNullable<ReturnType<typeof useVerifyInvoice>["data"]> }) {
  const sig = signatureText(result.head);
  const cons = consistencyText(result.head);
  // The lines' integrity; completeness (count, chain, totals) is the periods card's verdict.
  const ok = result.failed === 0 && result.head.trusted;
  return (
    <div
      role="status"
      data-testid="verify-summary"
      data-ok={ok}
      className={cn("rounded-xl p-4 ring-1", ok ? "bg-emerald-50 ring-emerald-200" : "bg-rose-50 ring-rose-200")}
    >
      <div className="flex items-start gap-3">
        <div className={cn("mt-0.5", ok ? "text-emerald-600" : "text-rose-600")}>{ok ? <ShieldIcon /> : <AlertIcon />}</div>
        <div className="min-w-0 flex-1">
          <p className={cn("text-sm font-semibold", ok ? "text-emerald-900" : "text-rose-900")}>
            {ok
              ? `All ${result.passed} lines verified in your browser`
              : result.failed > 0
                ? `${result.failed} of ${result.verdicts.size} lines FAILED verification`
                : "The signed head could not be trusted"}
            {result.pending > 0 && ` · ${result.pending} pending (newer than the signed head)`}
          </p>
          <p className="mt-1 text-xs text-slate-600">
            Recomputed each line's SHA-256 hash from its record and checked its Merkle inclusion proof against signed head of size{" "}
            {result.head.head.treeSize.toString()} (root <span className="font-mono">{shortHash(result.head.head.rootHash)}</span>).
          </p>
          <div className="mt-2 flex flex-wrap gap-2">
            <Badge tone={sig.tone}>{sig.label}</Badge>
            <Badge tone={cons.tone}>{cons.label}</Badge>
          </div>
        </div>
      </div>
    </div>
  );
}

