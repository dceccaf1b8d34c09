import { useState } from "react";

import { Badge } from "@/components/ui/badge";
import { Card, CardBody, CardHeader } from "@/components/ui/card";
import { SelectField } from "@/components/ui/field";
import { ErrorState, LoadingState } from "@/components/ui/states";
import { useT } from "@/lib/i18n";

import { useCheapestWindows } from "../api/find-cheapest-windows";
import { choiceNote, DURATION_CHOICES, durationLabel, windowView } from "../lib/cheapest-windows";

const DURATION_KEY = "energypulse.cheapestWindowMinutes";

function storedDuration(): number {
  const raw = typeof localStorage === "undefined" ? null : Number(localStorage.getItem(DURATION_KEY));
  return DURATION_CHOICES.find((d) => d === raw) ?? 240;
}

/** The cheapest time to run a load that needs a set duration (an EV's charge, a wash). */
export function CheapestWindowsCard({ zone, timeZone }: { zone: string | undefined; timeZone?: string }) {
  const t = useT();
  const [minutes, setMinutes] = useState(storedDuration);
  const windows = useCheapestWindows(zone, minutes);
  const views = (windows.data?.windows ?? []).map((w) => windowView(w, timeZone, windows.data?.currency));
  const note = choiceNote(views);
  return (
    <Card aria-labelledby="windows-title">
      <CardHeader id="windows-title" title={t.home.windows.title} description={t.home.windows.description} />
      <CardBody>
        <SelectField
          label={t.home.windows.needs}
          data-testid="window-duration"
          value={minutes}
          onChange={(e) => {
            const value = Number(e.target.value);
            localStorage.setItem(DURATION_KEY, String(value));
            setMinutes(value);
          }}
          className="mb-3 max-w-40"
        >
          {DURATION_CHOICES.map((d) => (
            <option key={d} value={d}>
              {durationLabel(d)}
            </option>
          ))}
        </SelectField>
        {windows.isPending ? (
          <LoadingState label={t.home.windows.finding} className="h-24" />
        ) : windows.error ? (
          <ErrorState error={windows.error} onRetry={() => void windows.refetch()} />
        ) : views.length === 0 ? (
          <p className="text-sm text-slate-600">{t.home.windows.noneFits(durationLabel(minutes))}</p>
        ) : (
          <>
            <ol className="space-y-2 text-sm" data-testid="cheapest-windows">
              {views.map((v) => (
                <li key={v.key} className="flex flex-wrap items-baseline justify-between gap-x-3" data-certain={v.certain} data-distinguishable={v.distinguishable}>
                  <span className="font-medium text-slate-900">
                    {v.when}
                  </span>
                  <span className="tabular-nums text-slate-700">{v.price}</span>
                  <span className="flex w-full items-center gap-2 text-xs text-slate-600">
                    <Badge tone={v.certain ? "good" : "info"}>{v.certain ? t.common.certain : t.common.likely}</Badge>
                    {v.basis}
                  </span>
                </li>
              ))}
            </ol>
            {note && (
              <p className="mt-3 rounded-lg bg-amber-50 px-3 py-2 text-xs text-amber-900" data-testid="windows-indistinct">
                {note}
              </p>
            )}
          </>
        )}
      </CardBody>
    </Card>
  );
}
