#!/usr/bin/env node
/**
 * Sign-in-to-data timing of the dashboard in Debian Chromium against the real stack
 * (bench/bench_dashboard.py): each run is a fresh browser context (cold HTTP cache, no session)
 * that opens BASE_URL, fills the sign-in form and times from submitting it until the home page
 * shows real data: the shell (signed in), the live power value from the stream, and the spot
 * prices (the cheapest-hour badges); dataMs is the later of the two. Prints JSON: { runs: [...] }.
 */
import { parseArgs } from "node:util";

import { DEFAULT_CHROMIUM, withChromium } from "./browser.mjs";

const { values: args } = parseArgs({
  options: {
    "base-url": { type: "string" },
    username: { type: "string" },
    password: { type: "string" },
    runs: { type: "string", default: "5" },
    chromium: { type: "string", default: DEFAULT_CHROMIUM },
  },
});

const runs = [];
await withChromium(args.chromium, async (browser) => {
  for (let i = 0; i < Number(args.runs); i++) {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: "en-GB", timezoneId: "Europe/Oslo" });
    const page = await ctx.newPage();
    await page.goto(args["base-url"], { waitUntil: "load" });
    await page.getByLabel("Username").fill(args.username);
    await page.getByLabel("Password").fill(args.password);
    const submit = page.getByRole("button", { name: "Sign in" });
    await submit.waitFor();
    const started = Date.now();
    const since = () => Date.now() - started;
    await submit.click();
    const timed = async (fn) => {
      await fn();
      return since();
    };
    const [signedInMs, livePowerMs, pricesMs] = await Promise.all([
      timed(() => page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 60_000 })),
      timed(() => page.waitForFunction(() => /\d/.test(document.querySelector("[data-testid=live-power]")?.textContent ?? ""), null, { timeout: 60_000, polling: "raf" })),
      timed(() => page.locator("[data-testid=cheapest-hours] span[title]").first().waitFor({ timeout: 60_000 })),
    ]);
    runs.push({ signedInMs, livePowerMs, pricesMs, dataMs: Math.max(livePowerMs, pricesMs) });
    await ctx.close();
  }
});
process.stdout.write(`${JSON.stringify({ runs })}\n`);
