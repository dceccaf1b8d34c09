import { useState } from "react";
import { useParams } from "react-router";

import { PageHeader } from "@/components/ui/page-header";
import { env } from "@/config/env";
import { useHousehold } from "@/lib/api/get-household";
import { useT } from "@/lib/i18n";

import { usePriceForecast } from "../api/get-price-forecast";
import { defaultSpikeThreshold, thresholdMicro } from "../lib/price-periods";
import { AccuracyCard } from "./accuracy-card";
import { CheapestWindowsCard } from "./cheapest-windows-card";
import { RenameHousehold } from "./household-name";
import { LivePowerCard } from "./live-power-card";
import { MonthCostCard } from "./month-cost-card";
import { NextHourCard } from "./next-hour-card";
import { PriceBarsCard } from "./price-bars-card";
import { SpikeCard } from "./spike-card";
import { TodayChartCard } from "./today-chart-card";
import { TodaySummaryCard } from "./today-summary-card";
import { WeekAheadCard } from "./week-ahead-card";

const CURRENCY_KEY = "energypulse.priceCurrency";
const THRESHOLD_KEY = (currency: string) => `energypulse.spikeThreshold.${currency}`;
const LEGACY_EUR_KEY = "energypulse.spikeThresholdCentKwh"; // c/kWh, before prices were in the bill's currency

function stored(key: string): string | null {
  return typeof localStorage === "undefined" ? null : localStorage.getItem(key);
}

function storedThreshold(currency: string): number {
  const raw = stored(THRESHOLD_KEY(currency)) ?? (currency === "EUR" ? stored(LEGACY_EUR_KEY) : null);
  const value = raw === null ? NaN : Number(raw);
  return Number.isFinite(value) ? value : defaultSpikeThreshold(currency);
}

export function HomePage() {
  const { householdId = "" } = useParams();
  const t = useT();
  const household = useHousehold(householdId);
  const profile = household.data?.household;
  // The zone comes from the profile; until it loads (or if it cannot), the configured default.
  const zone = profile?.zone || (household.isPending ? undefined : env().defaultZone);
  // The household's spike threshold in the bill's currency (øre/kWh for NOK, c/kWh for EUR) of
  // spot price, kept in this browser per currency; the server compares it at each day's EUR rate.
  // The currency is the server's (its rule set): the last one seen until the forecast says.
  const [currency, setCurrency] = useState(() => stored(CURRENCY_KEY) || "NOK");
  const [threshold, setThreshold] = useState(() => storedThreshold(currency));
  const forecast = usePriceForecast(zone, thresholdMicro(threshold));
  const served = forecast.data?.currency;
  if (served && served !== currency) {
    localStorage.setItem(CURRENCY_KEY, served);
    setCurrency(served);
    setThreshold(storedThreshold(served));
  }
  const saveThreshold = (value: number) => {
    localStorage.setItem(THRESHOLD_KEY(currency), String(value));
    setThreshold(value);
  };

  return (
    <>
      <PageHeader
        title={profile?.displayName || t.home.overview}
        actions={profile && <RenameHousehold householdId={householdId} name={profile.displayName} />}
        description={
          <>
            {t.home.householdId} <span className="font-mono" data-testid="household-id">{householdId}</span>
            {profile?.zone && <> · {t.home.priceZone(profile.zone)}</>}
            {profile?.timeZone && <> · {profile.timeZone}</>}
          </>
        }
      />
      <div className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3">
        <LivePowerCard householdId={householdId} />
        <TodaySummaryCard householdId={householdId} />
        <NextHourCard householdId={householdId} timeZone={profile?.timeZone} />
        <div className="md:col-span-2 xl:col-span-2">
          <PriceBarsCard forecast={forecast} timeZone={profile?.timeZone} />
        </div>
        <div className="md:col-span-2 xl:col-span-1">
          <SpikeCard key={currency} forecast={forecast} currency={currency} threshold={threshold} onThreshold={saveThreshold} timeZone={profile?.timeZone} />
        </div>
        <div className="md:col-span-2 xl:col-span-3">
          <MonthCostCard householdId={householdId} />
        </div>
        <div className="md:col-span-2 xl:col-span-2">
          <TodayChartCard householdId={householdId} zone={zone} timeZone={profile?.timeZone} />
        </div>
        <div className="md:col-span-2 xl:col-span-1">
          <CheapestWindowsCard zone={zone} timeZone={profile?.timeZone} />
        </div>
        <div className="md:col-span-2 xl:col-span-2">
          <WeekAheadCard forecast={forecast} zone={zone} timeZone={profile?.timeZone} />
        </div>
        <div className="md:col-span-2 xl:col-span-1">
          <AccuracyCard zone={zone} timeZone={profile?.timeZone} />
        </div>
      </div>
    </>
  );
}
