/** The live card shows the last known value at once (from the summary), before the stream's first reading. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { GetHouseholdSummaryResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";

import { householdSummaryQueryOptions } from "../api/get-household-summary";
import { LivePowerCard } from "./live-power-card";

function render(summary?: { kw: number; readAt: Date }) {
  const queries = new QueryClient();
  if (summary) {
    queries.setQueryData(
      householdSummaryQueryOptions("h-1").queryKey,
      create(GetHouseholdSummaryResponseSchema, { householdId: "h-1", currentPowerKw: summary.kw, lastReadTime: timestampFromDate(summary.readAt) }),
    );
  }
  // Rendered on the server: no effect runs, so the stream has delivered nothing (status "connecting").
  return renderToStaticMarkup(
    <QueryClientProvider client={queries}>
      <LivePowerCard householdId="h-1" />
    </QueryClientProvider>,
  );
}

describe("LivePowerCard before the stream's first reading", () => {
  it("shows the last known power at once, marked as such", () => {
    const html = render({ kw: 1.75, readAt: new Date(Date.now() - 3000) });
    expect(html).toMatch(/data-testid="live-power"[^>]*>1[.,]75</);
    expect(html).toContain('data-testid="live-last-known"');
    expect(html).not.toContain("Waiting for the first reading");
  });

  it("waits only when nothing is known yet", () => {
    const html = render();
    expect(html).toContain("Waiting for the first reading");
    expect(html).not.toContain('data-testid="live-power"');
  });
});
