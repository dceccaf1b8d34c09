// @vitest-environment jsdom
/**
 * The Alerts page speaks the home page's unit: on a NOK installation a spike threshold is typed and
 * shown in øre/kWh and sent as µNOK/kWh (thresholdMicroPerKwh), c/kWh on an EUR one; rules made in
 * EUR/MWh before still read as such. Real DOM events (user-event in jsdom) against the app's API
 * client, with the browser's fetch answering as the edge does.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { setLocale } from "@/lib/i18n/locale";

import { RulesCard, ruleInput } from "./alerts-page";

interface Sent {
  method: string;
  url: string;
  body: unknown;
}

function edge(currency: string, sent: Sent[]) {
  const rules = [
    { ruleId: "r1", householdId: "h1", kind: "ALERT_KIND_PRICE_SPIKE", displayName: "Dear hours", priceSpike: { thresholdMicroPerKwh: "1255000", minProbability: 0.5, lookaheadHours: 24 } },
    { ruleId: "r2", householdId: "h1", kind: "ALERT_KIND_PRICE_SPIKE", displayName: "Old rule", priceSpike: { thresholdEurMwh: 150, minProbability: 0.6, lookaheadHours: 12 } },
    { ruleId: "r3", householdId: "h1", kind: "ALERT_KIND_CHEAP_WINDOW", displayName: "EV", cheapWindow: { durationMinutes: 240, lookaheadHours: 24, maxPriceMicroPerKwh: "460000" } },
  ];
  return vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : input.toString();
    const method = init?.method ?? "GET";
    sent.push({ method, url, body: typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined });
    const body = method === "GET" ? { rules, currency } : { rule: { ruleId: "r4", householdId: "h1", kind: "ALERT_KIND_PRICE_SPIKE", displayName: "x" } };
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } }));
  });
}

function renderCard(currency: string) {
  const sent: Sent[] = [];
  vi.stubGlobal("fetch", edge(currency, sent));
  const queries = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={queries}>
      <RulesCard householdId="h1" />
    </QueryClientProvider>,
  );
  return sent;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("the Alerts page on a NOK installation", () => {
  it("shows thresholds in øre/kWh and sends the one typed as µNOK/kWh", async () => {
    const sent = renderCard("NOK");
    // 1 255 000 µNOK/kWh = 125.5 øre/kWh; a rule made in EUR/MWh keeps its unit.
    expect(await screen.findByText("Spot price above 125.5 øre/kWh with at least 50 % chance, next 24 h")).toBeTruthy();
    expect(screen.getByText("Spot price above 150 EUR/MWh with at least 60 % chance, next 12 h")).toBeTruthy();
    expect(screen.getByText("Cheapest 4 h window in the next 24 h, at most 46.0 øre/kWh")).toBeTruthy();

    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText("Alert me about"), "priceSpike");
    const threshold = screen.getByLabelText<HTMLInputElement>("Threshold (øre/kWh)");
    expect(threshold.value).toBe("150");
    await user.clear(threshold);
    await user.type(threshold, "95.5");
    await user.click(screen.getByRole("button", { name: "Add rule" }));

    await waitFor(() => expect(sent.some((s) => s.method === "POST")).toBe(true));
    const post = sent.find((s) => s.method === "POST");
    expect(post?.url).toContain("/households/h1/alert-rules");
    const rule = (post?.body as { rule: { priceSpike: Record<string, unknown> } }).rule;
    expect(rule.priceSpike.thresholdMicroPerKwh).toBe("955000"); // 95.5 øre/kWh, int64 as JSON text
    expect(rule.priceSpike).not.toHaveProperty("thresholdEurMwh");
    // Left unnamed, the rule is named in the page's language (not alert_svc's English default).
    expect((post?.body as { rule: { displayName: string } }).rule.displayName).toBe("Price above 95.5 øre/kWh");
  });
});

describe("a rule left unnamed", () => {
  afterEach(() => setLocale("en-GB", false));
  it("is named in the page's language", () => {
    setLocale("nb-NO", false);
    expect(ruleInput("priceSpike", 95.5, 50, " ", "NOK").displayName).toBe("Pris over 95,5 øre/kWh");
    expect(ruleInput("cheapWindow", 4, 0, "", "NOK").displayName).toBe("Billigste vindu på 4 t");
    expect(ruleInput("meterSilent", 30, 0, "", "NOK").displayName).toBe("Måleren taus i 30 min");
    expect(ruleInput("capacityStep", 90, 0, "Min regel", "NOK").displayName).toBe("Min regel");
  });
});

describe("the Alerts page on an EUR installation", () => {
  it("types thresholds in c/kWh, the home page's unit", async () => {
    const sent = renderCard("EUR");
    await screen.findByText("Dear hours");
    expect(screen.getByText("Spot price above 125.5 c/kWh with at least 50 % chance, next 24 h")).toBeTruthy();
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText("Alert me about"), "priceSpike");
    expect(screen.getByLabelText<HTMLInputElement>("Threshold (c/kWh)").value).toBe("15");
    await user.click(screen.getByRole("button", { name: "Add rule" }));
    await waitFor(() => expect(sent.some((s) => s.method === "POST")).toBe(true));
    const rule = (sent.find((s) => s.method === "POST")?.body as { rule: { priceSpike: Record<string, unknown> } }).rule;
    expect(rule.priceSpike.thresholdMicroPerKwh).toBe("150000"); // 15 c/kWh = 150 EUR/MWh
  });
});
