/**
 * #21 in the rendered pages: with nb-NO the home page and an invoice are Norwegian text with
 * nb-NO numbers (decimal comma, NOK amounts "1 234,56 kr"), and no English sentence is left; the
 * alert rules page and the operators' health panel too.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it } from "vitest";

import { HealthPanel } from "@/features/admin/components/health-panel";
import { gridStatsQueryOptions } from "@/features/admin/api/get-grid-stats";
import { serviceHealthQueryOptions } from "@/features/admin/api/get-service-health";
import { AlertsPage } from "@/features/alerts/components/alerts-page";
import { HomePage } from "@/features/home/components/home-page";
import { householdForecastQueryOptions } from "@/features/home/api/predict-household";
import { householdSummaryQueryOptions } from "@/features/home/api/get-household-summary";
import { monthCostQueryOptions } from "@/features/home/api/get-month-cost";
import { InvoicePage } from "@/features/invoices/components/invoice-page";
import { AlertRuleSchema, SubscriptionSchema } from "@/gen/energypulse/alert/v1/alert_pb";
import { ListAlertRulesResponseSchema, ListSubscriptionsResponseSchema } from "@/gen/energypulse/alert/v1/alert_service_pb";
import { CurrencyTotalSchema, GetInvoiceResponseSchema, InvoiceSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { RecordSchema, SettlementRecordSchema, TransactionSchema } from "@/gen/energypulse/ledger/v1/record_pb";
import { GetServiceHealthResponseSchema, HealthSampleSchema, ReplicaSchema, ServiceHealthSchema, ServiceStatus } from "@/gen/energypulse/ops/v1/ops_service_pb";
import { BilledPriceSchema, HouseholdForecastSchema } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { PredictHouseholdResponseSchema } from "@/gen/energypulse/prediction/v1/prediction_service_pb";
import { GridAggregateSchema, HouseholdSchema } from "@/gen/energypulse/telemetry/v1/reading_pb";
import { CostLineSchema, GetGridStatsResponseSchema, GetHouseholdResponseSchema, GetHouseholdSummaryResponseSchema, GetMonthCostResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { householdQueryOptions } from "@/lib/api/get-household";
import { invoiceQueryOptions } from "@/lib/api/get-invoice";
import { monthOf } from "@/lib/format";
import { queryKeys } from "@/lib/query-keys";

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
            <Route path="/households/:householdId/alerts" element={element} />
            <Route path="/admin" element={element} />
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

  // The operator and alert pages' own words: each is an English label these pages had before #21.
  const LEFTOVER = /\b(Rules|Channels|Delete|Remove|Add rule|webhook URL|Broker host|Alert me|Threshold|Cheapest|Serving|Degraded|Down|Replicas|Availability|Uptime|Ingest|Meters online|Readings stored|Dead letters|History|Last 24 hours|services? (serving|need)|periods? not|Probed every)\b/;

  it("renders the alerts page in Norwegian", () => {
    setLocale("nb-NO", false);
    const page = render(`/households/${H}/alerts`, <AlertsPage />, (q) => {
      q.setQueryData(
        queryKeys.alertRules(H),
        create(ListAlertRulesResponseSchema, {
          currency: "NOK",
          rules: [
            create(AlertRuleSchema, { ruleId: "r1", householdId: H, displayName: "Dyre timer", condition: { case: "priceSpike", value: { thresholdMicroPerKwh: 1_255_000n, minProbability: 0.5, lookaheadHours: 24 } } }),
            create(AlertRuleSchema, { ruleId: "r2", householdId: H, displayName: "Elbil", condition: { case: "cheapWindow", value: { durationMinutes: 90, lookaheadHours: 24 } } }),
            create(AlertRuleSchema, { ruleId: "r3", householdId: H, displayName: "Måler", condition: { case: "meterSilent", value: { silentMinutes: 30 } } }),
          ],
        }),
      );
      q.setQueryData(queryKeys.alertSubscriptions(H), create(ListSubscriptionsResponseSchema, { subscriptions: [create(SubscriptionSchema, { subscriptionId: "s1", householdId: H, target: { case: "webhook", value: { url: "https://example.org/hook" } } })] }));
    });
    for (const norwegian of ["Varsler", "Regler", "Kanaler", "Spotpris over 125,5 øre/kWh med minst 50 % sannsynlighet, de neste 24 t", "Billigste periode på 1,5 t de neste 24 t", "Ingen avlesning på 30 minutter", "Slett regelen Dyre timer", "Varsle meg om", "Legg til regel", "Legg til webhook", "Legg til MQTT-megler", "Fjern"]) {
      expect(page).toContain(norwegian);
    }
    expect(new RegExp(`.{0,60}${ENGLISH.source}.{0,20}`).exec(page)?.[0]).toBeUndefined();
    expect(new RegExp(`.{0,60}${LEFTOVER.source}.{0,20}`).exec(page)?.[0]).toBeUndefined();
  });

  it("renders the operators' health panel in Norwegian", () => {
    setLocale("nb-NO", false);
    const sample = (i: number, status: ServiceStatus) => create(HealthSampleSchema, { startTime: timestampFromMs(NOW - (10 - i) * 600_000), status, latencyMs: 2 + i, replicasServing: status === ServiceStatus.SERVING ? 2 : 1, replicasTotal: 2 });
    const service = (name: string, status: ServiceStatus) =>
      create(ServiceHealthSchema, {
        service: name, grpcService: `energypulse.${name}.v1`, status, availability: 0.975, statusSinceTime: timestampFromMs(NOW - 7_200_000),
        replicas: [create(ReplicaSchema, { endpoint: `${name}:50051`, serving: true, latencyMs: 2.5, version: "1.0", startTime: timestampFromMs(NOW - 91_800_000) }), create(ReplicaSchema, { endpoint: `${name}-2:50051`, serving: status === ServiceStatus.SERVING, latencyMs: 3 })],
        history: [0, 1, 2, 3].map((i) => sample(i, i === 2 ? ServiceStatus.DEGRADED : ServiceStatus.SERVING)),
        ...(status === ServiceStatus.SERVING ? {} : { alert: { status, sinceTime: timestampFromMs(NOW - 600_000), fireTime: timestampFromMs(NOW - 300_000) } }),
      });
    const page = render("/admin", <HealthPanel />, (q) => {
      q.setQueryData(serviceHealthQueryOptions(24 * 3600).queryKey, create(GetServiceHealthResponseSchema, { services: [service("ledger", ServiceStatus.SERVING), service("prediction", ServiceStatus.DEGRADED)], probeIntervalSeconds: 5, alertAfterSeconds: 30, monitorStartTime: timestampFromMs(NOW - 86_400_000) }));
      q.setQueryData(gridStatsQueryOptions().queryKey, create(GetGridStatsResponseSchema, { aggregate: create(GridAggregateSchema, { metersOnline: 1200, metersOffline: 3 }), readingsStored: 1_234_567n, deadLettersTotal: 4n }));
    });
    for (const norwegian of ["1 tjeneste trenger oppfølging", "Prognose har vært redusert siden", "1 av 2 tjenester i drift", "Hovedbok", "I drift", "Redusert", "Replikaer", "2 av 2", "Tilgjengelighet", "97,5 %", "1 periode ikke fullt i drift", "oppe 1 d 1 t", "Mottak av målerdata", "Målere tilkoblet", "1 234 567", "Avviste meldinger", "Siste 24 timer"]) {
      expect(page).toContain(norwegian);
    }
    expect(new RegExp(`.{0,60}${ENGLISH.source}.{0,20}`).exec(page)?.[0]).toBeUndefined();
    expect(new RegExp(`.{0,60}${LEFTOVER.source}.{0,20}`).exec(page)?.[0]).toBeUndefined();
  });
});
