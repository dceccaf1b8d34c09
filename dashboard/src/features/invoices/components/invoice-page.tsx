import { useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";

import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { cellPadding, DataTable, type Column } from "@/components/ui/data-table";
import { SelectField } from "@/components/ui/field";
import { CsvDownloadButton, type CsvFile } from "@/components/ui/csv-download";
import { ShieldIcon } from "@/components/ui/icons";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyState, ErrorState, LoadingState } from "@/components/ui/states";
import { Stat } from "@/components/ui/stat";
import type { CurrencyTotal } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import type { SettlementRecord, Transaction } from "@/gen/energypulse/ledger/v1/record_pb";
import { useInvoice } from "@/lib/api/get-invoice";
import { itemAt } from "@/lib/arrays";
import { cn } from "@/lib/cn";
import { toCsv } from "@/lib/csv";
import { fmtDateTime, fmtInteger, fmtMinor, fmtMonth, fmtNumber, fmtPerKwh, microToEur, monthOf, perKwhUnit, shortHash } from "@/lib/format";
import { lineCurrency } from "@/lib/ledger/metering";
import type { TxVerdict } from "@/lib/ledger/verify";
import { tsDate } from "@/lib/proto-json";
import { messages, useT } from "@/lib/i18n";

import { useVerifyInvoice } from "../api/verify-invoice";
import { CorrectionsCard } from "./corrections-card";
import { PeriodsCard } from "./periods-card";
import { VerdictBadge, verdictKind, verdictWhy } from "./verdict-badge";
import { VerificationSummary } from "./verification-summary";

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

/** A version-2 line's named bill components (micro-units of its currency), summed. */
const parts = (s: SettlementRecord, names: readonly string[]) =>
  s.components.filter((c) => names.includes(c.name)).reduce((sum, c) => sum + c.amountMicro, 0n);
const v2 = (s: SettlementRecord) => s.formatVersion === 2;

/** The invoice's currency: its lines' one currency (a version-1 line's is EUR, a version-2 line's
 * the bill's, NOK), "mixed" when they have more than one. */
export function invoiceCurrency(records: readonly (SettlementRecord | undefined)[]): string {
  const found = new Set(records.filter((s) => s !== undefined).map((s) => lineCurrency(s)));
  const [only] = [...found];
  return found.size > 1 ? "mixed" : (only ?? "EUR");
}

/** The settlement-line columns; the verdict column shows the last verification's result. */
function lineColumns(verdictOf: (tx: Transaction) => LineVerdict, currency: string): Column<Line>[] {
  const t = messages().invoices.col;
  const amount = (id: string, header: string, value: (s: SettlementRecord) => bigint): Column<Line> => ({
    id,
    header,
    align: "right",
    cell: ({ s }) => eur(s && value(s)),
  });
  return [
    {
      id: "hour",
      header: t.period,
      rowHeader: true,
      cellClassName: "whitespace-nowrap text-slate-700",
      cell: ({ s }) => (
        <>
          {fmtDateTime(tsDate(s?.formatVersion === 2 ? s.periodStart : s?.hourStart))}
          {s && s.formatVersion !== 2 && <span className="ml-1 text-xs text-slate-500">{t.hour}</span>}
        </>
      ),
    },
    { id: "kwh", header: t.kwh, align: "right", cell: ({ s }) => (s ? fmtNumber(Number(s.meteredWh) / 1000, 3) : "–") },
    { id: "spot-price", header: currency === "mixed" ? t.spotMixed : t.spotUnit(perKwhUnit(currency)), align: "right", cell: ({ s }) => (s ? fmtNumber(Number(s.spotPriceMicroEurPerKwh) / 10_000, 2) : "–") },
    amount("spot", t.spot, (s) => (v2(s) ? parts(s, ["spot_energy", "export_credit"]) : s.spotCostMicroEur)),
    amount("grid", t.grid, (s) => (v2(s) ? parts(s, ["grid_energy"]) : s.gridEnergyCostMicroEur)),
    amount("capacity", t.capacity, (s) => (v2(s) ? parts(s, ["grid_capacity"]) : s.capacityCostMicroEur)),
    amount("standing", t.other, (s) =>
      v2(s) ? s.totalCostMicroEur - parts(s, ["spot_energy", "export_credit", "grid_energy", "grid_capacity", "vat"]) : s.standingChargeMicroEur,
    ),
    amount("vat", t.vat, (s) => (v2(s) ? parts(s, ["vat"]) : s.vatMicroEur)),
    { ...amount("total", t.total, (s) => s.totalCostMicroEur), cellClassName: "font-medium text-slate-900" },
    {
      id: "tx",
      header: t.transaction,
      cell: ({ tx }) => (
        <Link to={`/ledger/transactions/${tx.txHash}`} className="font-mono text-xs text-brand-700 hover:underline">
          {shortHash(tx.txHash)}
        </Link>
      ),
    },
    {
      id: "verdict",
      header: t.verdict,
      cell: ({ tx }) => {
        const { verdict, kind } = verdictOf(tx);
        return (
          <>
            <VerdictBadge verdict={verdict} />
            {kind === "fail" && <p className="mt-1 max-w-56 text-xs text-rose-700">{verdictWhy(verdict, messages().invoices.verdict)}</p>}
          </>
        );
      },
    },
  ];
}

export function InvoicePage() {
  const { householdId = "" } = useParams();
  const t = useT();
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
  const currency = invoiceCurrency(rows.map((r) => r.s));
  const money = (micro: bigint) => (currency === "mixed" ? t.invoices.mixedCurrencies(fmtNumber(microToEur(micro), 2)) : fmtMinor(micro / 10_000n, currency));
  // A month in several currencies (legacy EUR hours, then NOK periods) owes each one's sum: never
  // one figure across currencies (the ledger's per-currency totals).
  const perCurrency = (pick: (t: CurrencyTotal) => bigint, single: bigint) =>
    inv && inv.totals.length > 1 ? inv.totals.map((t) => fmtMinor(pick(t) / 10_000n, t.currency)).join(" + ") : money(single);
  const verdictOf = (tx: Transaction): LineVerdict => {
    const verdict = result?.verdicts.get(tx.txHash);
    return { verdict, kind: result ? verdictKind(verdict) : "unchecked" };
  };

  const csvFile = (): CsvFile => {
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
    return { filename: `energypulse-invoice-${householdId}-${month}.csv`, text: csv, rows: rows.length, empty: t.common.csvEmpty.lines(fmtMonth(month)) };
  };

  return (
    <>
      <PageHeader
        title={t.invoices.title}
        description={`${householdId} · ${fmtMonth(month)}`}
        actions={
          <>
            <SelectField label={t.invoices.month} hideLabel value={month} onChange={(e) => setSearch({ month: e.target.value })}>
              {months.map((m) => (
                <option key={m} value={m}>
                  {fmtMonth(m)}
                </option>
              ))}
            </SelectField>
            <CsvDownloadButton build={csvFile} disabled={!invoice.data} testId="invoice-csv">
              CSV
            </CsvDownloadButton>
            <Button onClick={() => inv && verify.mutate(inv)} loading={verify.isPending} disabled={!inv || !lines.length} data-testid="verify-invoice">
              <ShieldIcon className="size-4" /> {t.invoices.verify}
            </Button>
          </>
        }
      />

      {invoice.isPending ? (
        <Card>
          <LoadingState label={t.invoices.loading} className="h-64" />
        </Card>
      ) : invoice.error ? (
        <Card>
          <ErrorState error={invoice.error} onRetry={() => void invoice.refetch()} className="h-64" />
        </Card>
      ) : !inv || lines.length === 0 ? (
        <Card>
          <EmptyState title={t.invoices.none} description={t.invoices.noneSub} className="h-64" />
        </Card>
      ) : (
        <div className="space-y-4">
          <Card>
            <CardBody>
              <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
                <Stat label={t.invoices.total} value={perCurrency((t) => t.totalCostMicro, inv.totalCostMicroEur)} testId="invoice-total" />
                {inv.corrections.length > 0 && <Stat label={t.invoices.amountDue} value={perCurrency((t) => t.amountDueMicro, inv.amountDueMicroEur)} testId="invoice-amount-due" />}
                <Stat label={t.invoices.netEnergy} value={`${fmtNumber(Number(inv.totalWh) / 1000, 1)} kWh`} />
                <Stat
                  label={inv.legacy ? t.invoices.settledHours : t.invoices.settledPeriods}
                  value={t.invoices.periodsOf(fmtInteger(inv.coveredPeriods), fmtInteger(inv.expectedPeriods))}
                  testId="invoice-periods"
                />
                <Stat label={t.invoices.avgPerKwh} value={Number(inv.totalWh) > 0 && inv.totals.length <= 1 ? fmtPerKwh((microToEur(inv.totalCostMicroEur) / (Number(inv.totalWh) / 1000)) * 100, currency) : "–"} sub={t.invoices.fixedIncluded} />
              </dl>
            </CardBody>
          </Card>

          {verify.error && (
            <Card>
              <ErrorState title={t.invoices.verifyFailed} error={verify.error} onRetry={() => verify.mutate(inv)} />
            </Card>
          )}
          <PeriodsCard inv={inv} completeness={result?.completeness} />
          {result && <VerificationSummary result={result} />}
          {inv.corrections.length > 0 && <CorrectionsCard inv={inv} verdictOf={(tx) => verdictOf(tx).kind} />}

          <Card aria-labelledby="lines-title">
            <CardHeader id="lines-title" title={t.invoices.lines} description={t.invoices.linesDescription(currency === "mixed" ? t.invoices.linesMixed : currency)} />
            <DataTable
              caption={t.invoices.linesCaption(fmtMonth(month))}
              className="min-w-[860px]"
              columns={lineColumns(verdictOf, currency)}
              rows={rows}
              rowKey={({ tx }) => tx.txHash}
              rowProps={({ tx }) => {
                const kind = verdictOf(tx).kind;
                return { "data-testid": "invoice-line", "data-verdict": kind, "data-tx": tx.txHash, className: cn("tabular-nums", kind === "fail" && "bg-rose-50/70") };
              }}
              footer={
                <tr>
                  <th scope="row" className={cn(cellPadding, "text-left")}>
                    {t.invoices.total}
                  </th>
                  <td className={cn(cellPadding, "text-right")}>{fmtNumber(Number(inv.totalWh) / 1000, 3)}</td>
                  <td colSpan={6} />
                  <td className={cn(cellPadding, "text-right")}>{inv.totals.length > 1 ? perCurrency((t) => t.totalCostMicro, 0n) : fmtNumber(microToEur(inv.totalCostMicroEur), 2)}</td>
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
