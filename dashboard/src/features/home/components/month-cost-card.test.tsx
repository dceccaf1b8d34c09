/** The month's bill marks each line computed from a rate nobody checked (the API's
 *  unverified_rates), says which, and explains the mark once; checked lines carry none. */
import { create } from "@bufbuild/protobuf";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { CostLineSchema, GetMonthCostResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";

import { monthCostQueryOptions } from "../api/get-month-cost";
import { MonthCostCard } from "./month-cost-card";

function render(unverified: Record<string, string[]>) {
  const lines = ["spot_energy", "grid_energy", "elavgift", "stromstotte"].map((name, i) =>
    create(CostLineSchema, { name, kwh: 100, amountMinor: BigInt(1000 * (i + 1)), vatMinor: BigInt(250 * (i + 1)), unverifiedRates: unverified[name] ?? [] }),
  );
  const queries = new QueryClient();
  queries.setQueryData(
    monthCostQueryOptions("h1").queryKey,
    create(GetMonthCostResponseSchema, { householdId: "h1", month: "2027-01", currency: "NOK", throughDay: 3, daysInMonth: 31, lines, totalMinor: 12_500n, vatMinor: 2_500n, scheme: "spot" }),
  );
  const html = renderToStaticMarkup(
    <QueryClientProvider client={queries}>
      <MonthCostCard householdId="h1" />
    </QueryClientProvider>,
  );
  const text = (fragment: string) => fragment.replace(/<[^>]+>/g, "");
  const row = (name: string) => text(html.split(`data-line="${name}"`)[1]?.split("</tr>")[0] ?? "");
  const footnote = html.includes('data-testid="month-cost-provisional"') ? text(html.split('data-testid="month-cost-provisional"')[1]?.split("</p>")[0] ?? "") : null;
  return { html, row, footnote };
}

describe("MonthCostCard provisional lines", () => {
  it("marks exactly the lines on unverified rates and names the rate", () => {
    const { row, footnote } = render({ elavgift: ["elavgift from 2027-01-01"], grid_energy: ["grid/glitre from 2025-01-01"] });
    expect(row("elavgift")).toContain("provisional");
    expect(row("elavgift")).toContain("elavgift (rate from 2027-01-01)");
    expect(row("grid_energy")).toContain("glitre grid tariff (rate from 2025-01-01)");
    expect(row("spot_energy")).not.toContain("provisional");
    expect(row("stromstotte")).not.toContain("provisional");
    expect(row("elavgift")).not.toBe("");
    expect(footnote).toContain("not been checked against a published source");
  });

  it("says nothing when every rate was checked", () => {
    const { html, footnote } = render({});
    expect(html).toContain('data-line="elavgift"');
    expect(html).not.toContain("provisional");
    expect(footnote).toBeNull();
  });
});
