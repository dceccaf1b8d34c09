/**
 * The one way the e2e scenarios and the dashboard benches start Chromium: headless, and quiet
 * (no background networking, QUIC, component updates or sync), so that the only requests are
 * the page's own: what a scenario asserts on and what a bench times.
 */
import { chromium } from "playwright-core";

export const DEFAULT_CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** Runs `use(browser)` with a fresh Chromium and closes it after, whatever `use` does. */
export async function withChromium(executablePath, use) {
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  try {
    return await use(browser);
  } finally {
    await browser.close();
  }
}
