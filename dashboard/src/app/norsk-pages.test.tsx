/**
 * #21 in the rendered pages: with nb-NO the home page and an invoice are Norwegian text with
 * nb-NO numbers (decimal comma, NOK amounts "1 234,56 kr"), and no English sentence is left.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it } from "vitest";

import { HomePage } from "@/features/home/components/home-page";
import { householdForecastQueryOptions } from "@/features/home/api/predict-household";
import { householdSummaryQueryOptions } from "@/features/home/api/get-household-summary";
import { monthCostQueryOptions } from "@/features/home/api/get-month-cost";
import { InvoicePage } from "@/features/invoices/components/invoice-page";
import { CurrencyTotalSchema, GetInvoiceResponseSchema, InvoiceSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { RecordSchema, SettlementRecordSchema, TransactionSchema } from "@/gen/energypulse/ledger/v1/record_pb";
import { BilledPriceSchema, HouseholdForecastSchema } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { PredictHouseholdResponseSchema } from "@/gen/energypulse/prediction/v1/prediction_service_pb";
import { HouseholdSchema } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { CostLineSchema, GetHouseholdResponseSchema, GetHouseholdSummaryResponseSchema, GetMonthCostResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { householdQueryOptions } from "@/lib/api/get-household";
import { invoiceQueryOptions } from "@/lib/api/get-invoice";
import { monthOf } from "@/lib/format";

import { setLocale } from "@/lib/i18n/locale";

const H = "h1";
const NOW = Date.now();

/** English words that never occur in a bokmål sentence: any of them is an untranslated leftover. */
const ENGLISH = /\b(the|and|of|your|with|from|for the|Loading|Today|Tomorrow|Next|This|month|hours?|Invoice|Verify|Settlement|Total|VAT|price|Energy|Cost|Last|Sign|Overview)\b/;

function text(html: string): string {
  // Visible text plus the names a screen reader reads (aria-label, title).
  const attributes = [...html.matchAll(/(?:aria-label|title)="([^"]*)"/g)].map((m) => m[1]).join(" \n");
  return `${html.replace(/<[^>]+>/g, " \n")}\n${attributes}`.replace(/&#x27;/g, "'").replace(/&amp;/g, "&").replace(/[\u00a0\u202f]/g, " ");
}

function render(path: string, element: ReactNode, seed: (q: QueryClient) => void): string {
  const queries = new QueryClient();
  seed(queries);
  return text(
    renderToStaticMarkup(
      <QueryClientProvider client={queries}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path="/households/:householdId" element={element} />
            <Route path="/households/:householdId/invoices" element={element} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    ),
  );
}

afterEach(() => setLocale("en-GB", false));

describe("nb-NO pages", () => {
  it("renders the home page in Norwegian with nb-NO numbers", () => {
    setLocale("nb-NO", false);
    const page = render(`/households/${H}`, <HomePage />, (q) => {
      q.setQueryData(householdQueryOptions(H).queryKey, create(GetHouseholdResponseSchema, { household: create(HouseholdSchema, { householdId: H, displayName: "", zone: "NO1", timeZone: "Europe/Oslo" }) }));
      q.setQueryData(
        householdSummaryQueryOptions(H).queryKey,
        create(GetHouseholdSummaryResponseSchema, { householdId: H, currentPowerKw: 1.25, todayKwh: 12.5, todayCostMinor: 123_456n, currency: "NOK", lastReadTime: timestampFromMs(NOW - 30_000), firstReadTime: timestampFromMs(NOW - 86_400_000 * 30) }),
      );
      q.setQueryData(
        monthCostQueryOptions(H).queryKey,
        create(GetMonthCostResponseSchema, {
          householdId: H, month: "2026-01", currency: "NOK", throughDay: 15, daysInMonth: 31, scheme: "spot", totalMinor: 145_050n, vatMinor: 29_010n, importKwh: 763.2, lastMonthTotalMinor: 210_000n,
          lines: ["spot_energy", "grid_energy", "grid_capacity", "elavgift", "stromstotte"].map((name, i) => create(CostLineSchema, { name, kwh: 100, amountMinor: BigInt(10_000 * (i + 1)), vatMinor: BigInt(2_500 * (i + 1)) })),
        }),
      );
      q.setQueryData(
        householdForecastQueryOptions(H).queryKey,
        create(PredictHouseholdResponseSchema, {
          forecast: create(HouseholdForecastSchema, {
            currency: "NOK", capacityChargeMicroPerMonth: 195_000_000n, supplierFeeMicroPerMonth: 61_250_000n,
            nextHour: { hourStart: timestampFromMs(NOW + 600_000), consumptionKwh: 1.5, billedPrice: create(BilledPriceSchema, { currency: "NOK", spotMicroPerKwh: 920_000n, energyMicroPerKwh: 969_000n, gridMicroPerKwh: 231_600n, taxesMicroPerKwh: 81_300n, supportMicroPerKwh: -153_000n, vatMicroPerKwh: 282_225n, totalMicroPerKwh: 1_411_125n }) },
          }),
        }),
      );
    });
    for (const norwegian of ["Oversikt", "Effekt nå", "I dag så langt", "Neste time", "Din pris (slik den faktureres)", "Denne måneden så langt", "Nettleie, kapasitetsledd (effekttrinn)", "Strømstøtte", "Uken som kommer: prisprognose", "Laster priser…"]) {
      expect(page).toContain(norwegian);
    }
    expect(page).toContain("1 234,56 kr"); // today's cost: NOK, decimal comma, space grouping
    expect(page).toContain("141,1 øre/kWh"); // the next hour as billed
    expect(page).toContain("12,50 kWh");
    expect(page).toContain("195,00 kr effekttrinn + 61,25 kr fastbeløp per måned");
    expect(page).not.toMatch(/\d\.\d/); // never a decimal point
    expect(new RegExp(`.{0,60}${ENGLISH.source}.{0,20}`).exec(page)?.[0]).toBeUndefined();
  });

  it("renders an invoice in Norwegian with NOK amounts", () => {
    setLocale("nb-NO", false);
    const month = monthOf(new Date(NOW));
    const lines = [0, 1].map((i) => {
      const s = create(SettlementRecordSchema, { householdId: H, formatVersion: 2, periodStart: timestampFromMs(NOW - 3_600_000 * (i + 2)), meteredWh: 12_500n, spotPriceMicroEurPerKwh: 920_000n, totalCostMicroEur: 12_345_000n, currency: "NOK", components: [{ name: "spot_energy", amountMicro: 10_000_000n }, { name: "vat", amountMicro: 2_345_000n }] });
      const tx = create(TransactionSchema, { txHash: String(i).repeat(64), record: create(RecordSchema, { content: { case: "settlement", value: s } }) });
      return { transaction: tx };
    });
    const inv = create(InvoiceSchema, { householdId: H, month, lines, totalWh: 25_000n, totalCostMicroEur: 24_690_000n, expectedPeriods: 96, coveredPeriods: 2, totals: [create(CurrencyTotalSchema, { currency: "NOK", totalCostMicro: 24_690_000n, amountDueMicro: 24_690_000n })] });
    const page = render(`/households/${H}/invoices?month=${month}`, <InvoicePage />, (q) => {
      q.setQueryData(invoiceQueryOptions(H, month).queryKey, create(GetInvoiceResponseSchema, { invoice: inv }));
    });
    for (const norwegian of ["Faktura", "Kontroller", "Netto forbruk", "Avregnede perioder", "2 av 96", "Snittpris per kWh", "Avregningslinjer", "Nettleie", "Effekttrinn", "Transaksjon", "målersignert"]) {
      expect(page).toContain(norwegian);
    }
    expect(page).toContain("24,69 kr");
    expect(page).toContain("25,0 kWh");
    expect(page).toContain("98,8 øre/kWh"); // 24,69 kr over 25 kWh
    expect(page).toContain("12,35"); // a line's total, with a comma
    expect(new RegExp(`.{0,60}${ENGLISH.source}.{0,20}`).exec(page)?.[0]).toBeUndefined();
  });
});
