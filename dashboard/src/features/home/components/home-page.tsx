import { useParams } from "react-router";

import { PageHeader } from "@/components/ui/page-header";
import { env } from "@/config/env";
import { useHousehold } from "@/lib/api/get-household";

import { AccuracyCard } from "./accuracy-card";
import { LivePowerCard } from "./live-power-card";
import { MonthCostCard } from "./month-cost-card";
import { NextHourCard } from "./next-hour-card";
import { PriceForecastCard } from "./price-forecast-card";
import { TodayChartCard } from "./today-chart-card";
import { TodaySummaryCard } from "./today-summary-card";

export function HomePage() {
  const { householdId = "" } = useParams();
  const household = useHousehold(householdId);
  const profile = household.data?.household;
  // The zone comes from the profile; until it loads (or if it cannot), the configured default.
  const zone = profile?.zone || (household.isPending ? undefined : env().defaultZone);

  return (
    <>
      <PageHeader
        title={profile?.displayName || "Overview"}
        description={
          <>
            {householdId}
            {profile?.zone && <> · price zone {profile.zone}</>}
            {profile?.timeZone && <> · {profile.timeZone}</>}
          </>
        }
      />
      <div className="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3">
        <LivePowerCard householdId={householdId} />
        <TodaySummaryCard householdId={householdId} />
        <NextHourCard householdId={householdId} timeZone={profile?.timeZone} />
        <div className="md:col-span-2 xl:col-span-3">
          <MonthCostCard householdId={householdId} />
        </div>
        <div className="md:col-span-2 xl:col-span-3">
          <TodayChartCard householdId={householdId} zone={zone} timeZone={profile?.timeZone} />
        </div>
        <div className="md:col-span-2 xl:col-span-2">
          <PriceForecastCard householdId={householdId} zone={zone} timeZone={profile?.timeZone} />
        </div>
        <div className="md:col-span-2 xl:col-span-1">
          <AccuracyCard zone={zone} timeZone={profile?.timeZone} />
        </div>
      </div>
    </>
  );
}
