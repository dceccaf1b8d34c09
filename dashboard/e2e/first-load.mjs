#!/usr/bin/env node
/**
 * First-load timing of the built dashboard in Debian Chromium (bench/bench_dashboard.py):
 * each run is a fresh browser context (cold HTTP cache) that opens BASE_URL and waits for the
 * sign-in form, optionally under CDP network throttling. Prints JSON: { runs: [{...ms}] }.
 */
import { parseArgs } from "node:util";

import { DEFAULT_CHROMIUM, withChromium } from "./browser.mjs";
import { pinEnglish } from "./locale.mjs";

const { values: args } = parseArgs({
  options: {
    "base-url": { type: "string" },
    runs: { type: "string", default: "5" },
    // "none" or "slow4g" (Lighthouse's mobile preset: 150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up)
    network: { type: "string", default: "none" },
    chromium: { type: "string", default: DEFAULT_CHROMIUM },
  },
});

const runs = [];
await withChromium(args.chromium, async (browser) => {
  for (let i = 0; i < Number(args.runs); i++) {
    const ctx = await pinEnglish(await browser.newContext({ viewport: { width: 1280, height: 900 } }));
    const page = await ctx.newPage();
    if (args.network === "slow4g") {
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 150,
        downloadThroughput: (1.6 * 1024 * 1024) / 8,
        uploadThroughput: (750 * 1024) / 8,
      });
    }
    const started = Date.now();
    await page.goto(args["base-url"], { waitUntil: "load" });
    await page.getByRole("button", { name: "Sign in" }).waitFor({ timeout: 60_000 });
    const interactiveMs = Date.now() - started;
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const paint = performance.getEntriesByName("first-contentful-paint")[0];
      const bytes = performance.getEntriesByType("resource").reduce((n, r) => n + (r.transferSize || 0), nav.transferSize || 0);
      return { domContentLoadedMs: nav.domContentLoadedEventEnd, loadMs: nav.loadEventEnd, fcpMs: paint ? paint.startTime : null, transferBytes: bytes };
    });
    runs.push({ ...timing, interactiveMs });
    await ctx.close();
  }
});
process.stdout.write(`${JSON.stringify({ network: args.network, runs })}\n`);
