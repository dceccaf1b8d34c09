import { useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useParams } from "react-router";

import { Button } from "@/components/ui/button";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField, TextField } from "@/components/ui/field";
import { DownloadIcon } from "@/components/ui/icons";
import { PageHeader } from "@/components/ui/page-header";
import { Resolution } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { invoiceQueryOptions } from "@/lib/api/get-invoice";
import { readingsQueryOptions } from "@/lib/api/list-readings";
import { errorMessage } from "@/lib/api-client";
import { itemAt } from "@/lib/arrays";
import { useHousehold } from "@/lib/api/get-household";
import { downloadText, toCsv } from "@/lib/csv";

import { invoiceCsv, readingsCsv } from "../lib/export-rows";
import { fmtMonth, monthOf } from "@/lib/format";
import { addDays } from "@/lib/use-now";
import { useT } from "@/lib/i18n";

const RESOLUTIONS = [
  { value: Resolution.HOUR, key: "hour" },
  { value: Resolution.QUARTER_HOUR, key: "quarter" },
  { value: Resolution.MINUTE, key: "minute" },
] as const;

/** A <select>'s value back to the Resolution it was rendered from. */
function resolutionOf(value: string): Resolution {
  return RESOLUTIONS.find((r) => String(r.value) === value)?.value ?? Resolution.HOUR;
}

function dayInput(date: Date): string {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

function Status({ state }: { state: { kind: "idle" } | { kind: "ok"; text: string } | { kind: "empty"; text: string } | { kind: "error"; text: string } }) {
  if (state.kind === "idle") return null;
  const tone = state.kind === "error" ? "text-rose-700" : state.kind === "empty" ? "text-amber-800" : "text-emerald-700";
  return (
    <p role={state.kind === "error" ? "alert" : "status"} data-testid={`export-${state.kind}`} className={`text-sm ${tone}`}>
      {state.text}
    </p>
  );
}

export function ExportPage() {
  const { householdId = "" } = useParams();
  const t = useT().export;
  const queryClient = useQueryClient();
  const today = new Date();
  const [from, setFrom] = useState(dayInput(addDays(today, -7)));
  const [to, setTo] = useState(dayInput(today));
  const [resolution, setResolution] = useState<Resolution>(Resolution.HOUR);
  const [raw, setRaw] = useState(false);
  const timeZone = useHousehold(householdId).data?.household?.timeZone;
  const months = useMemo(() => {
    const now = new Date();
    return Array.from({ length: 12 }, (_, i) => monthOf(new Date(now.getFullYear(), now.getMonth() - i, 1)));
  }, []);
  const [month, setMonth] = useState(itemAt(months, 0));
  const [busy, setBusy] = useState<"" | "readings" | "invoice">("");
  const [readingsState, setReadingsState] = useState<Parameters<typeof Status>[0]["state"]>({ kind: "idle" });
  const [invoiceState, setInvoiceState] = useState<Parameters<typeof Status>[0]["state"]>({ kind: "idle" });

  const exportReadings = async () => {
    const start = new Date(`${from}T00:00`);
    const end = addDays(new Date(`${to}T00:00`), 1);
    if (!(start < end)) {
      setReadingsState({ kind: "error", text: t.startBeforeEnd });
      return;
    }
    setBusy("readings");
    try {
      const data = await queryClient.query(readingsQueryOptions(householdId, start, end, resolution));
      if (data.readings.length === 0) {
        setReadingsState({ kind: "empty", text: t.noReadings(from, to) });
        return;
      }
      const table = readingsCsv(data.readings, raw, timeZone);
      const csv = toCsv(table.header, table.rows);
      downloadText(`energypulse-readings-${householdId}-${from}-${to}.csv`, csv);
      setReadingsState({ kind: "ok", text: t.rows(data.readings.length) });
    } catch (error) {
      setReadingsState({ kind: "error", text: errorMessage(error) });
    } finally {
      setBusy("");
    }
  };

  const exportInvoice = async () => {
    setBusy("invoice");
    try {
      const data = await queryClient.query(invoiceQueryOptions(householdId, month));
      const lines = (data.invoice?.lines ?? []).flatMap(({ transaction: tx }) =>
        tx?.record?.content.case === "settlement" ? [{ ...tx.record.content.value, txHash: tx.txHash, leafIndex: tx.leafIndex }] : [],
      );
      if (lines.length === 0) {
        setInvoiceState({ kind: "empty", text: t.noLines(fmtMonth(month)) });
        return;
      }
      const table = invoiceCsv(lines, raw, timeZone);
      const csv = toCsv(table.header, table.rows);
      downloadText(`energypulse-invoice-${householdId}-${month}.csv`, csv);
      setInvoiceState({ kind: "ok", text: t.lines(lines.length) });
    } catch (error) {
      setInvoiceState({ kind: "error", text: errorMessage(error) });
    } finally {
      setBusy("");
    }
  };

  return (
    <>
      <PageHeader
        title={t.title}
        description={t.description(householdId, raw ? t.rawUnits : t.niceUnits(timeZone ?? "UTC"))}
        actions={
          <label className="flex items-center gap-2 text-sm text-slate-700">
            <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} data-testid="export-raw" className="size-4 accent-brand-700" />
            {t.raw}
          </label>
        }
      />
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
        <Card aria-labelledby="export-readings-title">
          <CardHeader id="export-readings-title" title={t.readings} description={t.readingsSub} />
          <CardBody className="space-y-4">
            <div className="grid grid-cols-2 gap-3">
              <TextField label={t.from} type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
              <TextField label={t.to} type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
            </div>
            <SelectField label={t.resolution} value={resolution} onChange={(e) => setResolution(resolutionOf(e.target.value))}>
              {RESOLUTIONS.map((r) => (
                <option key={r.value} value={r.value}>
                  {t.resolutions[r.key]}
                </option>
              ))}
            </SelectField>
            <div className="flex items-center gap-3">
              <Button onClick={() => void exportReadings()} loading={busy === "readings"} data-testid="export-readings">
                <DownloadIcon className="size-4" /> {t.downloadReadings}
              </Button>
              <Status state={readingsState} />
            </div>
          </CardBody>
        </Card>
        <Card aria-labelledby="export-invoice-title">
          <CardHeader id="export-invoice-title" title={t.invoice} description={t.invoiceSub} />
          <CardBody className="space-y-4">
            <SelectField label={t.month} value={month} onChange={(e) => setMonth(e.target.value)}>
              {months.map((m) => (
                <option key={m} value={m}>
                  {fmtMonth(m)}
                </option>
              ))}
            </SelectField>
            <div className="flex items-center gap-3">
              <Button onClick={() => void exportInvoice()} loading={busy === "invoice"} data-testid="export-invoice">
                <DownloadIcon className="size-4" /> {t.downloadInvoice}
              </Button>
              <Status state={invoiceState} />
            </div>
          </CardBody>
        </Card>
      </div>
    </>
  );
}
