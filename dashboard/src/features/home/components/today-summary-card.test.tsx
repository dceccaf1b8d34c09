/** The summary card says where a household's data starts (a demo's back-filled history included). */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { GetHouseholdSummaryResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { fmtDate } from "@/lib/format";

import { householdSummaryQueryOptions } from "../api/get-household-summary";
import { TodaySummaryCard } from "./today-summary-card";

function render(firstRead?: Date) {
  const queries = new QueryClient();
  queries.setQueryData(
    householdSummaryQueryOptions("h-1").queryKey,
    create(GetHouseholdSummaryResponseSchema, {
      householdId: "h-1",
      lastReadTime: timestampFromDate(new Date()),
      ...(firstRead ? { firstReadTime: timestampFromDate(firstRead) } : {}),
    }),
  );
  return renderToStaticMarkup(
    <QueryClientProvider client={queries}>
      <TodaySummaryCard householdId="h-1" />
    </QueryClientProvider>,
  );
}

describe("TodaySummaryCard data start", () => {
  it("labels the date of the first reading", () => {
    const first = new Date(Date.UTC(2026, 10, 3, 12));
    const html = render(first);
    expect(html).toContain('data-testid="data-since"');
    expect(html).toContain("Data since");
    expect(html).toContain(fmtDate(first));
  });

  it("says nothing before the first reading", () => {
    expect(render()).not.toContain("Data since");
  });
});
