import { useParams } from "react-router";

import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { DataTable, type Column } from "@/components/ui/data-table";
import { CsvDownloadButton } from "@/components/ui/csv-download";
import { PageHeader } from "@/components/ui/page-header";
import { Stat } from "@/components/ui/stat";
import { EmptyState, ErrorState, Skeleton } from "@/components/ui/states";
import type { CostBand, SchemeMonth } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { fmtKwhIn, fmtMinor, fmtMonth } from "@/lib/format";
import { useT } from "@/lib/i18n";

import { useCompareSchemes } from "../api/compare-schemes";

function band(b: CostBand | undefined, currency: string): string {
  return b ? `${fmtMinor(b.p50Minor, currency)} (P10–P90 ${fmtMinor(b.p10Minor, currency)} – ${fmtMinor(b.p90Minor, currency)})` : "–";
}

export function SchemesPage() {
  const { householdId = "" } = useParams();
  const t = useT();
  const names = t.schemes.names;
  const data = useCompareSchemes(householdId, 12);
  const currency = data.data?.currency ?? "NOK";
  const columns: Column<SchemeMonth>[] = [
    { id: "month", header: t.schemes.month, rowHeader: true, cell: (m) => fmtMonth(m.month) },
    { id: "kwh", header: t.schemes.energy, align: "right", cell: (m) => fmtKwhIn(m.importKwh) },
    { id: "contract", header: t.schemes.contract, align: "right", cell: (m) => fmtMinor(m.contractTotalMinor, currency) },
    { id: "other", header: t.schemes.other, align: "right", cell: (m) => (m.otherTotalMinor === undefined ? t.schemes.notOffered : fmtMinor(m.otherTotalMinor, currency)) },
    {
      id: "saving",
      header: t.schemes.saving,
      align: "right",
      cell: (m) => (m.otherTotalMinor === undefined ? "–" : fmtMinor(m.contractTotalMinor - m.otherTotalMinor, currency)),
    },
  ];
  const first = data.data?.months[0];
  return (
    <>
      <PageHeader
        title={t.schemes.title}
        description={t.schemes.description}
        actions={
          <CsvDownloadButton
            disabled={!data.data}
            testId="schemes-csv"
            build={() => ({
              filename: `spot-or-norgespris-${householdId}.csv`,
              text: data.data?.csv ?? "",
              // The server's CSV has a row per month (and its header even when there are none).
              rows: data.data?.months.length ?? 0,
              empty: t.common.csvEmpty.months,
            })}
          >
            CSV
          </CsvDownloadButton>
        }
      />
      <div className="space-y-4">
        {data.isPending ? (
          <Skeleton className="h-64" />
        ) : data.error ? (
          <ErrorState error={data.error} onRetry={() => void data.refetch()} />
        ) : data.data.months.length === 0 ? (
          <EmptyState title={t.schemes.none} description={t.schemes.noneSub} />
        ) : (
          <>
            <Card aria-labelledby="schemes-projection">
              <CardHeader id="schemes-projection" title={t.schemes.projection} description={first ? t.schemes.monthDay(fmtMonth(first.month), first.throughDay) : undefined} />
              <CardBody>
                <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2">
                  <Stat label={t.schemes.contractOn(names[first?.scheme ?? "spot"] ?? "")} value={band(data.data.projection, currency)} valueClassName="text-lg" testId="scheme-projection-own" />
                  <Stat label={t.schemes.on(names[first?.otherScheme ?? "norgespris"] ?? "")} value={band(data.data.otherProjection, currency)} valueClassName="text-lg" testId="scheme-projection-other" />
                </dl>
              </CardBody>
            </Card>
            <Card>
              <DataTable caption={t.schemes.table} columns={columns} rows={data.data.months} rowKey={(m) => m.month} className="min-w-[36rem]" />
            </Card>
          </>
        )}
      </div>
    </>
  );
}
