// @vitest-environment jsdom
/**
 * A chart's values by keyboard and as a table: real DOM events (testing-library's user-event in
 * jsdom) on ChartAccess, with the labels and formats UPlotChart takes from a chart's legend.
 */
import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

// jsdom has no matchMedia, which uPlot queries when its module loads (for the pixel ratio):
// a media query that never matches, set before the imports below run.
vi.hoisted(() => {
  if (typeof window.matchMedia !== "function") {
    const query = (media: string) => ({ matches: false, media, addEventListener: () => undefined, removeEventListener: () => undefined });
    Object.defineProperty(window, "matchMedia", { value: query });
  }
});

import { ChartAccess } from "./chart-access";
import { timeX } from "./time-axis";
import { accessSeries, legendValue, type ChartOptions } from "./uplot-chart";

// 2026-01-15 13:00, 13:15, 13:30, 13:45 UTC = 14:00.. in Oslo; the last point has no values.
const T0 = Date.UTC(2026, 0, 15, 13, 0) / 1000;
const data = [
  [T0, T0 + 900, T0 + 1800, T0 + 2700],
  [1.25, null, 0.5, null],
  [45.6, 45.6, 47.25, null],
];
const time = timeX("Europe/Oslo");
const options: ChartOptions = {
  series: [
    time.series,
    { label: "Power (kW)", value: legendValue((v) => `${v.toFixed(2)} kW`) },
    { label: "Spot price", value: legendValue((v) => `${v.toFixed(1)} øre/kWh`) },
  ],
};

function renderChart(onActive = vi.fn()) {
  const { x, series } = accessSeries(options);
  render(
    <ChartAccess label="Today's power and spot price" x={x} series={series} data={data} onActive={onActive}>
      <div role="img" aria-label="Today's power and spot price" />
    </ChartAccess>,
  );
  return onActive;
}

afterEach(cleanup);

describe("a chart by keyboard", () => {
  it("is one tab stop that reads each point out in a live region as the arrow keys move", async () => {
    const user = userEvent.setup();
    const onActive = renderChart();
    await user.tab();
    const chart = screen.getByRole("group", { name: /Today's power and spot price\. Arrow keys/ });
    expect(chart).toHaveProperty("tabIndex", 0);
    expect(document.activeElement).toBe(chart);
    const readout = screen.getByTestId("chart-readout");
    expect(readout.getAttribute("aria-live")).toBe("polite");
    expect(readout.textContent).toBe("");

    await user.keyboard("{ArrowRight}");
    expect(readout.textContent).toBe("15 Jan 14:00: Power (kW) 1.25 kW, Spot price 45.6 øre/kWh");
    expect(onActive).toHaveBeenLastCalledWith(0);
    await user.keyboard("{ArrowRight}");
    expect(readout.textContent).toBe("15 Jan 14:15: Power (kW) no value, Spot price 45.6 øre/kWh");
    await user.keyboard("{End}");
    // The last point has no value in any series: End stops at the last one that has.
    expect(readout.textContent).toBe("15 Jan 14:30: Power (kW) 0.50 kW, Spot price 47.3 øre/kWh");
    expect(onActive).toHaveBeenLastCalledWith(2);
    await user.keyboard("{ArrowRight}");
    expect(onActive).toHaveBeenLastCalledWith(2);
    await user.keyboard("{Home}");
    expect(readout.textContent).toMatch(/^15 Jan 14:00:/);
    await user.keyboard("{ArrowLeft}");
    expect(onActive).toHaveBeenLastCalledWith(0);
    await user.keyboard("{Escape}");
    expect(readout.textContent).toBe("");
    expect(onActive).toHaveBeenLastCalledWith(undefined);
  });

  it("starts from the end with the left arrow, and the cursor leaves with the focus", async () => {
    const user = userEvent.setup();
    const onActive = renderChart();
    await user.tab();
    await user.keyboard("{ArrowLeft}");
    expect(onActive).toHaveBeenLastCalledWith(2);
    await user.tab(); // on to the table toggle
    expect(onActive).toHaveBeenLastCalledWith(undefined);
  });
});

describe("a chart as a table", () => {
  it("shows the same points in a captioned table with headers, on request", async () => {
    const user = userEvent.setup();
    renderChart();
    expect(screen.queryByRole("table")).toBeNull();
    const toggle = screen.getByRole("button", { name: "Show as table" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    await user.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(toggle.textContent).toBe("Hide table");

    const table = screen.getByRole("table", { name: "Today's power and spot price" });
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent)).toEqual(["Time", "Power (kW)", "Spot price"]);
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => [...r.children].map((c) => c.textContent))).toEqual([
      ["15 Jan 14:00", "1.25 kW", "45.6 øre/kWh"],
      ["15 Jan 14:15", "–", "45.6 øre/kWh"],
      ["15 Jan 14:30", "0.50 kW", "47.3 øre/kWh"],
    ]);
    expect(within(rows[0]!).getByRole("rowheader").textContent).toBe("15 Jan 14:00");

    await user.click(toggle);
    expect(screen.queryByRole("table")).toBeNull();
  });

  it("says how many points it leaves out past its row limit", async () => {
    const user = userEvent.setup();
    const { x, series } = accessSeries(options);
    render(
      <ChartAccess label="Week" x={x} series={series} data={data} maxRows={2}>
        <div />
      </ChartAccess>,
    );
    await user.click(screen.getByRole("button", { name: "Show as table" }));
    expect(screen.getAllByRole("row")).toHaveLength(3);
    expect(screen.getByText(/The first 2 of 3 points/)).toBeTruthy();
  });
});

describe("a chart without legend formats", () => {
  it("reads its x as a time in the display zone and names its series", () => {
    const { x, series } = accessSeries({ series: [{}, {}] });
    expect(x.label).toBe("Time");
    expect(x.format(T0, 0)).toBe("15 Jan 2026, 14:00:00");
    expect(series.map((s) => [s.label, s.format(0.5, 0)])).toEqual([["Series 1", "0.50"]]);
    expect(accessSeries({ series: [{}, {}], scales: { x: { time: false } } }).x.format(2.5, 0)).toBe("2.50");
  });
});

describe("the table's scroll box", () => {
  it("is a named region the keyboard can focus (it scrolls)", async () => {
    const user = userEvent.setup();
    renderChart();
    await user.click(screen.getByRole("button", { name: "Show as table" }));
    const box = screen.getByRole("region", { name: "Today's power and spot price, as a table" });
    expect(box.tabIndex).toBe(0);
    expect(within(box).getByRole("table")).toBeTruthy();
  });
});
