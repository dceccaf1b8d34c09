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
import { downloadText, toCsv } from "@/lib/csv";
import { fmtMonth, monthOf } from "@/lib/format";
import { tsDate } from "@/lib/proto-json";
import { addDays } from "@/lib/use-now";

const RESOLUTIONS = [
  { value: Resolution.HOUR, label: "Hourly means" },
  { value: Resolution.QUARTER_HOUR, label: "15-minute means" },
  { value: Resolution.MINUTE, label: "1-minute means" },
];

/** A <select>'s value back to the Resolution it was rendered from. */
function resolutionOf(value: string): Resolution {
  return RESOLUTIONS.find((r) => String(r.value) === value)?.value ?? Resolution.HOUR;
}

function dayInput(date: Date): string {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

function Status({ state }: { state: { kind: "idle" } | { kind: "ok"; text: string } | { kind: "error"; text: string } }) {
  if (state.kind === "idle") return null;
  return (
    <p role={state.kind === "error" ? "alert" : "status"} className={state.kind === "error" ? "text-sm text-rose-700" : "text-sm text-emerald-700"}>
      {state.text}
    </p>
  );
}

export function ExportPage() {
  const { householdId = "" } = useParams();
  const queryClient = useQueryClient();
  const today = new Date();
  const [from, setFrom] = useState(dayInput(addDays(today, -7)));
  const [to, setTo] = useState(dayInput(today));
  const [resolution, setResolution] = useState<Resolution>(Resolution.HOUR);
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
      setReadingsState({ kind: "error", text: "The start date must be before the end date." });
      return;
    }
    setBusy("readings");
    try {
      const data = await queryClient.query(readingsQueryOptions(householdId, start, end, resolution));
      const csv = toCsv(
        ["time_utc", "meter_id", "power_kw", "import_kwh", "export_kwh", "voltage_v", "current_a", "power_factor", "sample_count"],
        data.readings.map((r) => [tsDate(r.readTime)?.toISOString(), r.meterId, r.powerKw, r.importKwh, r.exportKwh, r.voltageV, r.currentA, r.powerFactor, r.sampleCount]),
      );
      downloadText(`energypulse-readings-${householdId}-${from}-${to}.csv`, csv);
      setReadingsState({ kind: "ok", text: `Downloaded ${data.readings.length} ${data.readings.length === 1 ? "row" : "rows"}.` });
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
      const lines = data.invoice?.lines ?? [];
      const csv = toCsv(
        ["hour_start_utc", "metered_wh", "spot_price_micro_eur_per_kwh", "spot_cost_micro_eur", "grid_energy_cost_micro_eur", "capacity_cost_micro_eur", "standing_charge_micro_eur", "vat_micro_eur", "total_cost_micro_eur", "tx_hash", "leaf_index"],
        lines.map(({ transaction: tx }) => {
          const s = tx?.record?.content.case === "settlement" ? tx.record.content.value : undefined;
          return [tsDate(s?.hourStart)?.toISOString(), s?.meteredWh, s?.spotPriceMicroEurPerKwh, s?.spotCostMicroEur, s?.gridEnergyCostMicroEur, s?.capacityCostMicroEur, s?.standingChargeMicroEur, s?.vatMicroEur, s?.totalCostMicroEur, tx?.txHash, tx?.leafIndex];
        }),
      );
      downloadText(`energypulse-invoice-${householdId}-${month}.csv`, csv);
      setInvoiceState({ kind: "ok", text: `Downloaded ${lines.length} settlement ${lines.length === 1 ? "line" : "lines"}.` });
    } catch (error) {
      setInvoiceState({ kind: "error", text: errorMessage(error) });
    } finally {
      setBusy("");
    }
  };

  return (
    <>
      <PageHeader title="Export" description={`Download ${householdId}'s data as CSV (UTF-8, comma-separated, UTC times)`} />
      <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
        <Card aria-labelledby="export-readings-title">
          <CardHeader id="export-readings-title" title="Meter readings" description="Power, energy counters, voltage and current" />
          <CardBody className="space-y-4">
            <div className="grid grid-cols-2 gap-3">
              <TextField label="From" type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
              <TextField label="To (inclusive)" type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
            </div>
            <SelectField label="Resolution" value={resolution} onChange={(e) => setResolution(resolutionOf(e.target.value))}>
              {RESOLUTIONS.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </SelectField>
            <div className="flex items-center gap-3">
              <Button onClick={() => void exportReadings()} loading={busy === "readings"} data-testid="export-readings">
                <DownloadIcon className="size-4" /> Download readings
              </Button>
              <Status state={readingsState} />
            </div>
          </CardBody>
        </Card>
        <Card aria-labelledby="export-invoice-title">
          <CardHeader id="export-invoice-title" title="Invoice" description="Every settled hour of a month, in micro-EUR, with its ledger transaction" />
          <CardBody className="space-y-4">
            <SelectField label="Month" value={month} onChange={(e) => setMonth(e.target.value)}>
              {months.map((m) => (
                <option key={m} value={m}>
                  {fmtMonth(m)}
                </option>
              ))}
            </SelectField>
            <div className="flex items-center gap-3">
              <Button onClick={() => void exportInvoice()} loading={busy === "invoice"} data-testid="export-invoice">
                <DownloadIcon className="size-4" /> Download invoice
              </Button>
              <Status state={invoiceState} />
            </div>
          </CardBody>
        </Card>
      </div>
    </>
  );
}
