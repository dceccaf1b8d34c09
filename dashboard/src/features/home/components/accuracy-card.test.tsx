/**
 * Error state end to end inside the app: the API client (with an injected transport that answers
 * like Envoy when the prediction service is down) fails the card's query, and the card renders
 * the catalogue's words for the error's reason (not the server's English) and the reason code,
 * instead of a blank chart.
 */
import { noop, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { routes } from "@/gen/routes";
import { createApiClient } from "@/lib/api-client";

import { accuracyQueryOptions } from "../api/get-accuracy";
import { AccuracyCard, accuracySentence, errorMinor } from "./accuracy-card";

function failingEdge(status: number, body: unknown) {
  return () => Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }));
}

async function renderWith(status: number, body: unknown) {
  const client = createApiClient({
    fetch: failingEdge(status, body),
    session: { accessToken: () => "t", updateTokens: () => {}, expire: () => {} },
    onForbidden: () => {},
  });
  // No retries: the cached error is what the first render shows.
  const queries = new QueryClient({ defaultOptions: { queries: { retry: false, retryOnMount: false } } });
  // The query fails by design; the error stays in the cache for the card to render.
  await queries
    .query({
      ...accuracyQueryOptions("NO1"),
      queryFn: () => client.call(routes.prediction.getAccuracy({ zone: "NO1" }), { query: { windowHours: 168 } }),
    })
    .catch(noop);
  expect(queries.getQueryState(accuracyQueryOptions("NO1").queryKey)?.status).toBe("error");
  return renderToStaticMarkup(
    <QueryClientProvider client={queries}>
      <AccuracyCard zone="NO1" />
    </QueryClientProvider>,
  );
}

describe("a card whose query fails", () => {
  it("shows the ErrorInfo reason's text from the catalogue and the reason code, with a retry", async () => {
    const html = await renderWith(503, {
      code: 14,
      message: "prediction service unavailable: connection refused",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "UPSTREAM_UNAVAILABLE", domain: "energypulse.dev" }],
    });
    expect(html).toContain('data-state="error"');
    expect(html).toContain('role="alert"');
    expect(html).toContain("The service is unavailable right now. Please try again in a moment.");
    expect(html).not.toContain("connection refused"); // the server's English is only a fallback
    expect(html).toContain("UPSTREAM_UNAVAILABLE");
    expect(html).toContain("Try again");
    expect(html).not.toContain("Scoring recent forecasts"); // not stuck loading
  });

  it("words a plain-text 503 from a proxy as the service being unavailable", async () => {
    const client = createApiClient({
      fetch: () => Promise.resolve(new Response("upstream connect error or disconnect/reset before headers", { status: 503 })),
      session: { accessToken: () => "t", updateTokens: () => {}, expire: () => {} },
      onForbidden: () => {},
    });
    const queries = new QueryClient({ defaultOptions: { queries: { retry: false, retryOnMount: false } } });
    await queries.query({ ...accuracyQueryOptions("NO1"), queryFn: () => client.call(routes.prediction.getAccuracy({ zone: "NO1" })) }).catch(noop);
    const html = renderToStaticMarkup(
      <QueryClientProvider client={queries}>
        <AccuracyCard zone="NO1" />
      </QueryClientProvider>,
    );
    expect(html).toContain("The service is unavailable right now.");
    expect(html).not.toContain("upstream connect error");
    expect(html).not.toContain('data-testid="error-reason"');
  });

  it("shows the empty state when the service answers with no scored hours", async () => {
    const client = createApiClient({
      fetch: () => Promise.resolve(new Response(JSON.stringify({ hours: 0, points: [] }), { status: 200 })),
      session: { accessToken: () => "t", updateTokens: () => {}, expire: () => {} },
      onForbidden: () => {},
    });
    const queries = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    await queries.query({ ...accuracyQueryOptions("NO1"), queryFn: () => client.call(routes.prediction.getAccuracy({ zone: "NO1" })) });
    const html = renderToStaticMarkup(
      <QueryClientProvider client={queries}>
        <AccuracyCard zone="NO1" />
      </QueryClientProvider>,
    );
    expect(html).toContain('data-state="empty"');
    expect(html).toContain("Not enough history yet");
  });
});

describe("the accuracy headline", () => {
  it("speaks as a household would: how far off, against yesterday's price", () => {
    expect(accuracySentence(0.6, 1.0)).toMatch(/^Forecasts of the spot price were off by 0[.,]6 c\/kWh on average, 40% better than assuming yesterday's price\.$/);
    expect(accuracySentence(1.2, 1.0)).toMatch(/20% worse than assuming yesterday's price\.$/);
    expect(accuracySentence(1.0, 1.0)).toMatch(/no better than assuming yesterday's price\.$/);
    expect(accuracySentence(0.6, 0)).toMatch(/^Forecasts of the spot price were off by 0[.,]6 c\/kWh on average\.$/);
    expect(accuracySentence(0.6, 1.0)).not.toMatch(/MAE|naive/i);
    // a NOK installation: the server's µNOK/kWh errors, in øre/kWh the Norwegian way
    expect(accuracySentence(errorMinor(69_000n, 6, "NOK"), errorMinor(115_000n, 10, "NOK"), "NOK")).toBe(
      "Forecasts of the spot price were off by 6.9 øre/kWh on average, 40% better than assuming yesterday's price.",
    );
    expect(errorMinor(0n, 6, "")).toBe(0.6); // an EUR-only server: EUR/MWh as c/kWh
  });
});
