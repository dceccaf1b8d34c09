/**
 * A chart's values without the mouse: the chart is one tab stop; the arrow keys (Home/End,
 * PageUp/PageDown by ten) move along its points and a live region reads the point out ("14:00:
 * Power 1.25 kW, Spot price 45.6 øre/kWh"), while the chart's own cursor follows. "Show as table"
 * renders the same points as an accessible table. Points where every series is empty (the rest
 * of today, a gap) are skipped: there is nothing to read there.
 */
import { useId, useMemo, useState, type KeyboardEvent, type ReactNode } from "react";

import { Button } from "@/components/ui/button";
import { DataTable, type Column } from "@/components/ui/data-table";
import { fmtInteger } from "@/lib/format";
import { messages, useT } from "@/lib/i18n";

export interface AccessSeries {
  label: string;
  /** The value as the chart's legend shows it; null = no value at this point. */
  format: (value: number, index: number) => string;
}

export interface ChartAccessProps {
  /** What the chart shows (its accessible name and the table's caption). */
  label: string;
  /** The x axis: its column header ("Time") and how one x value reads. */
  x: AccessSeries;
  series: readonly AccessSeries[];
  /** uPlot's aligned data: [xs, ys of series 0, ys of series 1, ...]. */
  data: readonly (ArrayLike<number | null | undefined>)[];
  /** The point read out changed (the chart moves its cursor there); undefined = none. */
  onActive?: (index: number | undefined) => void;
  /** Rows the table shows at most (a week of minutes is 10k points); the rest is said, not hidden. */
  maxRows?: number;
  children: ReactNode;
}

interface Row {
  index: number;
  x: string;
  values: string[];
}

/** The indexes with at least one value (the points worth reading). */
export function pointsWithValues(data: ChartAccessProps["data"]): number[] {
  const xs = data[0];
  if (!xs) return [];
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (data.slice(1).some((ys) => ys[i] != null && Number.isFinite(ys[i]))) out.push(i);
  }
  return out;
}

/** One point in words: "14:00: Power (kW) 1.25 kW, Spot price 45.6 øre/kWh". */
export function describePoint(props: Pick<ChartAccessProps, "x" | "series" | "data">, index: number): string {
  const xv = props.data[0]?.[index];
  const parts = props.series.map((s, si) => {
    const v = props.data[si + 1]?.[index];
    return `${s.label} ${v == null || !Number.isFinite(v) ? messages().chart.noValue : s.format(v, index)}`;
  });
  return `${xv == null ? "" : props.x.format(xv, index)}: ${parts.join(", ")}`;
}

const STEP: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, PageDown: 10, PageUp: -10 };

export function ChartAccess({ label, x, series, data, onActive, maxRows = 1000, children }: ChartAccessProps) {
  const t = useT();
  const points = useMemo(() => pointsWithValues(data), [data]);
  // Position among `points`, not the raw index: the data may grow (live) under a kept position.
  const [position, setPosition] = useState<number | undefined>(undefined);
  const [table, setTable] = useState(false);
  const tableId = useId();
  const active = position === undefined ? undefined : points[Math.min(position, points.length - 1)];
  const announcement = active === undefined ? "" : describePoint({ x, series, data }, active);

  const move = (next: number) => {
    if (points.length === 0) return;
    const clamped = Math.max(0, Math.min(points.length - 1, next));
    setPosition(clamped);
    onActive?.(points[clamped]);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const step = STEP[event.key];
    if (step !== undefined) move(position === undefined ? (step > 0 ? 0 : points.length - 1) : position + step);
    else if (event.key === "Home") move(0);
    else if (event.key === "End") move(points.length - 1);
    else if (event.key === "Escape" && position !== undefined) {
      setPosition(undefined);
      onActive?.(undefined);
    } else return;
    event.preventDefault();
  };

  const rows = useMemo<Row[]>(
    () =>
      table
        ? points.slice(0, maxRows).map((i) => ({
            index: i,
            x: x.format(data[0]?.[i] ?? Number.NaN, i),
            values: series.map((s, si) => {
              const v = data[si + 1]?.[i];
              return v == null || !Number.isFinite(v) ? "–" : s.format(v, i);
            }),
          }))
        : [],
    [table, points, maxRows, data, x, series],
  );
  const columns = useMemo<Column<Row>[]>(
    () => [
      { id: "x", header: x.label, rowHeader: true, cell: (r) => r.x },
      ...series.map((s, si): Column<Row> => ({ id: `s${String(si)}`, header: s.label, align: "right", cellClassName: "tabular-nums", cell: (r) => r.values[si] })),
    ],
    [x.label, series],
  );

  return (
    <div>
      <div
        tabIndex={0}
        role="group"
        aria-roledescription="chart"
        aria-label={t.chart.keys(label)}
        onKeyDown={onKeyDown}
        onBlur={() => onActive?.(undefined)}
        className="rounded-md focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-600"
        data-testid="chart-focus"
      >
        {children}
      </div>
      <div className="mt-2 flex flex-wrap items-center justify-between gap-2">
        <p aria-live="polite" aria-atomic="true" className="min-h-4 text-xs text-slate-600 tabular-nums" data-testid="chart-readout">
          {announcement}
        </p>
        <Button variant="ghost" size="sm" aria-expanded={table} aria-controls={tableId} onClick={() => setTable((t) => !t)} data-testid="chart-table-toggle">
          {table ? t.chart.hideTable : t.chart.showTable}
        </Button>
      </div>
      <div id={tableId} hidden={!table}>
        {table && (
          <>
            <DataTable
              caption={label}
              columns={columns}
              rows={rows}
              rowKey={(r) => String(r.index)}
              cards={false}
              className="w-full whitespace-nowrap text-sm"
              scrollBox={{ label: t.chart.asTable(label), className: "max-h-80 overflow-y-auto rounded-lg ring-1 ring-slate-200" }}
            />
            {points.length > rows.length && (
              <p className="mt-1 text-xs text-slate-600">
                {t.chart.firstOf(fmtInteger(rows.length), fmtInteger(points.length))}
              </p>
            )}
          </>
        )}
      </div>
    </div>
  );
}
