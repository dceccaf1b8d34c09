import { useState } from "react";
import { useParams } from "react-router";

import { PageHeader } from "@/components/ui/page-header";
import { env } from "@/config/env";
import { useHousehold } from "@/lib/api/get-household";

import { usePriceForecast } from "../api/get-price-forecast";
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

const THRESHOLD_KEY = "energypulse.spikeThresholdCentKwh";
const DEFAULT_THRESHOLD = 15;

function storedThreshold(): number {
  const raw = typeof localStorage === "undefined" ? null : localStorage.getItem(THRESHOLD_KEY);
  const value = raw === null ? NaN : Number(raw);
  return Number.isFinite(value) ? value : DEFAULT_THRESHOLD;
}

export function HomePage() {
  const { householdId = "" } = useParams();
  const household = useHousehold(householdId);
  const profile = household.data?.household;
  // The zone comes from the profile; until it loads (or if it cannot), the configured default.
  const zone = profile?.zone || (household.isPending ? undefined : env().defaultZone);
  // The household's spike threshold (c/kWh), kept in this browser; the API takes EUR/MWh.
  const [threshold, setThreshold] = useState(storedThreshold);
  const forecast = usePriceForecast(zone, threshold * 10);
  const saveThreshold = (value: number) => {
    localStorage.setItem(THRESHOLD_KEY, String(value));
    setThreshold(value);
  };

  return (
    <>
      <PageHeader
        title={profile?.displayName || "Overview"}
        actions={profile && <RenameHousehold householdId={householdId} name={profile.displayName} />}
        description={
          <>
            Household ID <span className="font-mono" data-testid="household-id">{householdId}</span>
            {profile?.zone && <> · price zone {profile.zone}</>}
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
          <SpikeCard forecast={forecast} thresholdCentKwh={threshold} onThreshold={saveThreshold} timeZone={profile?.timeZone} />
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
