import { useId } from "react";

import { cn } from "@/lib/cn";
import { addDays, startOfLocalDay } from "@/lib/use-now";
import { useT } from "@/lib/i18n";

export interface DateRange {
  start: Date;
  end: Date;
}

const PRESETS = [
  { key: "24h", label: "24 h", days: 1 },
  { key: "7d", label: "7 days", days: 7 },
  { key: "30d", label: "30 days", days: 30 },
  { key: "90d", label: "90 days", days: 90 },
] as const;

export function presetRange(days: number, now = new Date()): DateRange {
  const end = new Date(Math.ceil(now.getTime() / 60_000) * 60_000);
  return { start: new Date(end.getTime() - days * 86_400_000), end };
}

function toInput(date: Date): string {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 10);
}

function fromInput(value: string): Date | undefined {
  const [y, m, d] = value.split("-").map(Number);
  if (!y || !m || !d) return undefined;
  return new Date(y, m - 1, d);
}

/** Presets plus a from/to pair of native date inputs (keyboard- and phone-friendly). */
export function DateRangePicker({ value, preset, onChange }: { value: DateRange; preset: string; onChange: (range: DateRange, preset: string) => void }) {
  const t = useT();
  const fromId = useId();
  const toId = useId();
  const today = toInput(new Date());
  return (
    <div className="flex flex-wrap items-end gap-3">
      <div role="group" aria-label={t.history.quickRanges} className="inline-flex rounded-lg bg-white p-0.5 shadow-sm ring-1 ring-slate-200">
        {PRESETS.map((p) => (
          <button
            key={p.key}
            type="button"
            aria-pressed={preset === p.key}
            onClick={() => onChange(presetRange(p.days), p.key)}
            className={cn("rounded-md px-3 py-1.5 text-sm font-medium transition-colors", preset === p.key ? "bg-brand-700 text-white" : "text-slate-600 hover:bg-slate-100")}
          >
            {t.history.presets[p.key] ?? p.label}
          </button>
        ))}
      </div>
      <div className="flex items-end gap-2">
        <div>
          <label htmlFor={fromId} className="mb-1 block text-xs font-medium text-slate-600">
            {t.history.from}
          </label>
          <input
            id={fromId}
            type="date"
            max={today}
            value={toInput(value.start)}
            onChange={(e) => {
              const start = fromInput(e.target.value);
              if (start && start < value.end) onChange({ start, end: value.end }, "custom");
            }}
            className="rounded-lg border-0 px-2 py-1.5 text-sm shadow-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-brand-600"
          />
        </div>
        <div>
          <label htmlFor={toId} className="mb-1 block text-xs font-medium text-slate-600">
            {t.history.to}
          </label>
          <input
            id={toId}
            type="date"
            max={today}
            value={toInput(addDays(value.end, value.end.getTime() === startOfLocalDay(value.end).getTime() ? -1 : 0))}
            onChange={(e) => {
              const day = fromInput(e.target.value);
              if (day) {
                const end = addDays(day, 1);
                if (end > value.start) onChange({ start: value.start, end }, "custom");
              }
            }}
            className="rounded-lg border-0 px-2 py-1.5 text-sm shadow-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-brand-600"
          />
        </div>
      </div>
    </div>
  );
}
