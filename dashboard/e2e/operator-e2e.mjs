#!/usr/bin/env node
/**
 * The operator's shift (issue #21) in a real browser: playwright-core against Debian's Chromium.
 * tests/e2e/test_operator.py runs one scenario per call and asserts on the JSON printed as the last
 * stdout line. Every screen is shot at 1440x900 and 390x844 into --artifacts (look at them).
 *
 *   node e2e/operator-e2e.mjs --base-url http://127.0.0.1:8080 --artifacts ../test-artifacts/screenshots \
 *        --scenario screens --params '{"username":"admin","password":"admin-demo","target":"ops-e2e-x"}'
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { DEFAULT_CHROMIUM, withChromium } from "./browser.mjs";
import { pinEnglish } from "./locale.mjs";

const { values: args } = parseArgs({
  options: {
    "base-url": { type: "string", default: "http://127.0.0.1:8080" },
    artifacts: { type: "string", default: "test-artifacts/screenshots" },
    scenario: { type: "string" },
    params: { type: "string", default: "{}" },
    chromium: { type: "string", default: DEFAULT_CHROMIUM },
  },
});

const BASE = args["base-url"].replace(/\/$/, "");
const ARTIFACTS = path.resolve(args.artifacts);
const params = JSON.parse(args.params);
mkdirSync(ARTIFACTS, { recursive: true });

const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const result = { scenario: args.scenario, ok: false, screenshots: [], consoleErrors: [], steps: [], overflow: {} };

function step(name, extra = {}) {
  result.steps.push({ name, at: new Date().toISOString(), ...extra });
}

async function shot(page, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  result.screenshots.push(file);
}

/** The screen at both sizes; at phone size also whether the page scrolls sideways. */
async function bothSizes(page, name) {
  await page.waitForTimeout(300);
  await shot(page, `${name}-desktop`);
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(500);
  result.overflow[name] = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await shot(page, `${name}-phone`);
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(300);
}

async function signIn(page, username, password) {
  await page.goto(`${BASE}/`, { waitUntil: "domcontentloaded" });
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 20_000 });
  step("signed in", { username });
}

async function rowOf(page, username) {
  const search = page.getByLabel("Search accounts");
  await search.fill(username);
  const row = page.locator(`[data-testid=user-row][data-username="${username}"]`);
  await row.waitFor({ timeout: 20_000 });
  return row;
}

/** What has keyboard focus: its accessible label and whether it is inside an open dialog. */
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const label = (el.getAttribute("aria-label") || el.labels?.[0]?.innerText || el.innerText || "").trim().replace(/\s+/g, " ").slice(0, 80);
    return { tag: el.tagName.toLowerCase(), label, inDialog: Boolean(el.closest("dialog[open]")) };
  });
}

/**
 * Tab until the focused control matches (a control that already has focus counts: a keyboard user
 * would not tab away from it). The error names the wanted control and where focus ended up, so a
 * failure under load says which step it was.
 */
async function tabTo(page, matches, want, max = 150) {
  let f = await focused(page);
  if (f && matches(f)) return f;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    f = await focused(page);
    if (f && matches(f)) return f;
  }
  throw new Error(`keyboard: never reached ${want} in ${max} tabs; focus ended on ${JSON.stringify(f)}`);
}

const scenarios = {
  /** Every operator screen at both sizes, and each action an operator takes on an account. */
  async screens(ctx, page) {
    await signIn(page, params.username, params.password);
    // Health: from the server-side monitor, every service with its replicas, versions and uptime.
    await page.goto(`${BASE}/admin`);
    await page.locator("[data-testid^=health-][data-ok]").first().waitFor();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid^=health-][data-ok=true]").length >= 4, null, { timeout: 60_000 });
    result.health = await page.$$eval("[data-testid^=health-][data-ok]", (cards) =>
      cards.map((c) => ({
        service: c.getAttribute("data-testid").slice(7),
        ok: c.getAttribute("data-ok"),
        replicas: c.querySelector("[data-testid=replica-count]")?.textContent,
        versions: [...c.querySelectorAll("[data-testid=replica]")].map((r) => r.textContent),
      })),
    );
    await bothSizes(page, "op-health");
    await page.reload();
    await page.locator("[data-testid^=health-][data-ok=true]").first().waitFor();
    result.historyAfterReload = await page.locator('[aria-label$="status history: serving throughout"], [aria-label*="status history:"]').count();

    // Users: search, paging.
    await page.goto(`${BASE}/admin/users`);
    await page.getByLabel("Search accounts").fill(params.pageQuery);
    await page.waitForFunction(() => /matching/.test(document.querySelector("[data-testid=users-range]")?.textContent ?? ""), null, { timeout: 20_000 });
    result.rangeFirst = await page.getByTestId("users-range").textContent();
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForFunction((first) => {
      const text = document.querySelector("[data-testid=users-range]")?.textContent ?? "";
      return text !== first && /matching/.test(text); // not the "Loading…" of the page in flight
    }, result.rangeFirst);
    result.rangeSecond = await page.getByTestId("users-range").textContent();
    result.secondPageFirstUser = await page.locator("[data-testid=user-row]").first().getAttribute("data-username");
    await bothSizes(page, "op-users");

    // Disabling asks first; cancelling changes nothing, confirming ends the sessions.
    let row = await rowOf(page, params.target);
    await row.getByRole("button", { name: `Disable ${params.target}` }).click();
    const confirm = page.getByTestId("confirm-dialog");
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await confirm.waitFor({ state: "hidden" });
    result.disabledAfterCancel = await row.getByRole("button", { name: `Enable ${params.target}` }).count();
    await row.getByRole("button", { name: `Disable ${params.target}` }).click();
    result.confirmText = await confirm.textContent();
    await bothSizes(page, "op-confirm-disable");
    await confirm.getByRole("button", { name: "Disable account" }).click();
    await confirm.waitFor({ state: "hidden" });
    await row.getByRole("button", { name: `Enable ${params.target}` }).waitFor();
    step("disabled", { target: params.target });
    // Role change: the same confirmation.
    row = await rowOf(page, params.target);
    await row.getByLabel(`Role of ${params.target}`).selectOption({ label: "Admin" });
    result.roleConfirmText = await confirm.textContent();
    await confirm.getByRole("button", { name: "Change role" }).click();
    await confirm.waitFor({ state: "hidden" });
    await page.waitForFunction((name) => document.querySelector(`[aria-label="Role of ${name}"]`)?.selectedOptions[0]?.textContent === "Admin", params.target);
    await row.getByLabel(`Role of ${params.target}`).selectOption({ label: "User" });
    await confirm.getByRole("button", { name: "Change role" }).click();
    await confirm.waitFor({ state: "hidden" });
    await row.getByRole("button", { name: `Enable ${params.target}` }).click();
    await confirm.getByRole("button", { name: "Enable account" }).click();
    await confirm.waitFor({ state: "hidden" });
    await row.getByRole("button", { name: `Disable ${params.target}` }).waitFor();

    // Households: link one.
    await row.getByRole("button", { name: `Households of ${params.target}` }).click();
    const households = page.getByTestId("households-dialog");
    await households.getByLabel("Household id to link").fill(params.household);
    await households.getByRole("button", { name: "Link", exact: true }).click();
    await households.getByText(params.household, { exact: true }).waitFor();
    await bothSizes(page, "op-households");
    await households.getByRole("button", { name: "Done" }).click();

    // Password reset: a one-time link, used in a fresh browser without a session.
    await row.getByRole("button", { name: `Reset password of ${params.target}` }).click();
    const reset = page.getByTestId("reset-dialog");
    await reset.getByRole("button", { name: "Create reset link" }).click();
    const link = await reset.getByTestId("reset-link").inputValue();
    result.linkHasFragmentToken = /\/reset-password#token=.{20,}/.test(link);
    await bothSizes(page, "op-reset-link");
    await reset.getByRole("button", { name: "Done" }).click();
    const stranger = await pinEnglish(await ctx.browser().newContext({ viewport: DESKTOP, locale: "en-GB", timezoneId: "Europe/Oslo" }));
    const other = await stranger.newPage();
    await other.goto(link);
    // Once the reset page shows (it takes the token and wipes it from the address bar as it mounts).
    await other.getByLabel("New password", { exact: true }).waitFor();
    result.fragmentWiped = !(await other.evaluate(() => window.location.hash));
    await other.getByLabel("New password", { exact: true }).fill(params.newPassword);
    await other.getByLabel("Repeat the new password").fill(params.newPassword);
    await bothSizes(other, "op-reset-page");
    await other.getByRole("button", { name: "Set password" }).click();
    await other.getByTestId("reset-done").waitFor();
    await bothSizes(other, "op-reset-done");
    await other.goto(link);
    result.linkReusable = await other.getByLabel("New password", { exact: true }).count();
    await stranger.close();

    // Grid: per-zone load against price over a chosen range, axis from zero, a table alternative.
    await page.goto(`${BASE}/admin/grid`);
    const zoneLoad = page.getByTestId("zone-load");
    await zoneLoad.getByLabel("Time range").selectOption("6h");
    await zoneLoad.getByText("Show as a table").click();
    await zoneLoad.getByTestId("zone-load-row").first().waitFor({ timeout: 30_000 });
    result.zoneRows = await zoneLoad.getByTestId("zone-load-row").count();
    result.zoneOptions = await zoneLoad.getByLabel("Bidding zone").evaluate((s) => [...s.options].map((o) => o.value));
    result.zoneRange = await page.getByTestId("zone-load-range").textContent();
    await zoneLoad.getByLabel("Time range").selectOption("custom");
    const to = await zoneLoad.getByLabel("To (local time)").inputValue();
    await zoneLoad.getByLabel("From (local time)").fill(to); // an empty range, then an inverted one: refused before asking
    await zoneLoad.getByLabel("To (local time)").fill(`${to.slice(0, 4) - 1}${to.slice(4)}`);
    result.invertedRangeRefused = await zoneLoad.getByRole("alert").count();
    await zoneLoad.getByLabel("Time range").selectOption("24h");
    await zoneLoad.getByTestId("zone-load-row").first().waitFor({ state: "attached" });
    result.axisLabel = await zoneLoad.getByText("kW (axis from 0)").count();
    await bothSizes(page, "op-grid");

    // Audit log: filter by action and actor.
    await page.goto(`${BASE}/admin/audit`);
    await page.getByLabel("Action").selectOption("USER_DISABLED");
    await page.getByLabel("Actor (username)").fill(params.username);
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll("[data-testid=audit-row]")];
      return rows.length > 0 && rows.every((r) => r.getAttribute("data-action") === "USER_DISABLED");
    });
    result.auditRows = await page.$$eval("[data-testid=audit-row]", (rows) => rows.map((r) => [r.getAttribute("data-actor"), r.getAttribute("data-action"), r.textContent]));
    await bothSizes(page, "op-audit");
    result.ok = true;
  },

  /** The operator screens with the keyboard alone: tabs, search, the confirmation dialog. */
  async keyboard(ctx, page) {
    await signIn(page, params.username, params.password);
    await page.goto(`${BASE}/admin`);
    await page.locator("[data-testid^=health-][data-ok]").first().waitFor();
    const dialog = page.getByTestId("confirm-dialog");
    const visited = [];
    for (const [tab, path] of [["Users", "/admin/users"], ["Audit log", "/admin/audit"], ["Grid", "/admin/grid"], ["Health", "/admin"]]) {
      await tabTo(page, (f) => f.tag === "a" && f.label === tab, `the "${tab}" tab`);
      await page.keyboard.press("Enter");
      // The route changes on the client; on a busy machine that can take longer than a fixed pause.
      await page.waitForURL((url) => url.pathname === path, { timeout: 20_000 }).catch(() => null);
      visited.push(new URL(page.url()).pathname);
    }
    await tabTo(page, (f) => f.tag === "a" && f.label === "Users", 'the "Users" tab');
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.pathname === "/admin/users", { timeout: 20_000 });
    await tabTo(page, (f) => f.label.startsWith("Search accounts"), "the account search");
    await page.keyboard.type(params.target);
    await page.locator(`[data-testid=user-row][data-username="${params.target}"]`).waitFor();
    await page.waitForFunction(() => document.querySelectorAll("[data-testid=user-row]").length === 1);
    // The search has settled (the debounced query of the whole text answered, not a prefix's):
    // a later answer re-renders the row under the keyboard.
    await page.waitForFunction((target) => {
      const input = document.querySelector("input[type=search]");
      const range = document.querySelector("[data-testid=users-range]");
      return input?.value === target && range?.getAttribute("aria-busy") === "false" && /\b1\b/.test(range.textContent ?? "");
    }, params.target);
    await page.waitForTimeout(500); // past the search debounce (300 ms): no request is still to come
    await tabTo(page, (f) => f.label === `Disable ${params.target}`, "the row's Disable button");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "visible" });
    const first = await focused(page);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    // The browser gives focus back to the opener as the dialog closes; on a busy machine that can
    // land a moment after the dialog is hidden. Wait for it (bounded), then record where it is.
    await page
      .waitForFunction((label) => document.activeElement?.getAttribute("aria-label") === label, `Disable ${params.target}`, { timeout: 5000 })
      .catch(() => null);
    const afterEscape = await focused(page);
    // From here on each step waits for the dialog it opens or closes before the next key: a key
    // pressed while the page is still catching up goes nowhere (the flake of CI under load).
    await tabTo(page, (f) => f.label === `Disable ${params.target}`, "the row's Disable button again");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "visible" });
    const reached = await tabTo(page, (f) => f.inDialog && f.label === "Disable account", "the dialog's Disable account", 6);
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("button", { name: `Enable ${params.target}` }).waitFor();
    await shot(page, "op-keyboard-disabled");
    // And back, still by keyboard.
    await tabTo(page, (f) => f.label === `Enable ${params.target}`, "the row's Enable button");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "visible" });
    await tabTo(page, (f) => f.inDialog && f.label === "Enable account", "the dialog's Enable account", 6);
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("button", { name: `Disable ${params.target}` }).waitFor();
    result.visited = visited;
    result.dialogFocus = { first, afterEscape, reached };
    result.ok = true;
  },
};

async function main() {
  const scenario = scenarios[args.scenario];
  if (!scenario) throw new Error(`unknown scenario "${args.scenario}"; one of ${Object.keys(scenarios).join(", ")}`);
  await withChromium(args.chromium, async (browser) => {
    const ctx = await pinEnglish(await browser.newContext({ viewport: DESKTOP, locale: "en-GB", timezoneId: "Europe/Oslo" }));
    const page = await ctx.newPage();
    page.setDefaultTimeout(20_000);
    page.on("console", (msg) => {
      if (msg.type() === "error") result.consoleErrors.push(msg.text().slice(0, 300));
    });
    page.on("pageerror", (err) => result.consoleErrors.push(`pageerror: ${String(err).slice(0, 300)}`));
    // A signed-out load tries to resume the session once (the HttpOnly refresh cookie may exist;
    // script cannot tell) and gets 401 without one: expected, and Chromium logs each as a console
    // error. Exactly those are discounted below; any other 401 still counts.
    let resumeRefused = 0;
    page.on("response", (r) => {
      if (r.url().endsWith("/api/v1/auth/refresh") && r.status() === 401) resumeRefused += 1;
    });
    try {
      await scenario(ctx, page);
    } catch (error) {
      result.error = String(error?.stack ?? error).slice(0, 2000);
      await shot(page, `failure-op-${args.scenario}`).catch(() => {});
    }
    const refused = "Failed to load resource: the server responded with a status of 401 (Unauthorized)";
    for (; resumeRefused > 0; resumeRefused -= 1) {
      const at = result.consoleErrors.indexOf(refused);
      if (at < 0) break;
      result.consoleErrors.splice(at, 1);
    }
  });
}

main()
  .catch((error) => {
    result.error = String(error?.stack ?? error).slice(0, 2000);
  })
  .finally(() => {
    console.log(JSON.stringify(result));
  });
