#!/usr/bin/env node
/**
 * End-to-end scenarios for the dashboard, driven with playwright-core against Debian's Chromium
 * (never a downloaded browser). tests/e2e/test_dashboard.py runs one scenario per call and
 * asserts on the JSON this prints as its last stdout line: { ok, scenario, ..., screenshots }.
 *
 *   node e2e/dashboard-e2e.mjs --base-url http://127.0.0.1:8080 --artifacts ../test-artifacts/screenshots \
 *        --scenario live --params '{"username":"household-0001","password":"demo"}'
 */
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseArgs } from "node:util";

import { DEFAULT_CHROMIUM, withChromium } from "./browser.mjs";
import { pinEnglish } from "./locale.mjs";

const { values: args } = parseArgs({
  options: {
    "base-url": { type: "string", default: process.env.BASE_URL ?? "http://127.0.0.1:8080" },
    artifacts: { type: "string", default: process.env.ARTIFACTS_DIR ?? "test-artifacts/screenshots" },
    scenario: { type: "string" },
    params: { type: "string", default: "{}" },
    chromium: { type: "string", default: DEFAULT_CHROMIUM },
  },
});

const AXE_SOURCE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const BASE = args["base-url"].replace(/\/$/, "");
const ARTIFACTS = path.resolve(args.artifacts);
const params = JSON.parse(args.params);
mkdirSync(ARTIFACTS, { recursive: true });

const DESKTOP = { width: 1440, height: 1000 };
const PHONE = { width: 390, height: 844 };

const CONTEXT_OPTIONS = { viewport: DESKTOP, acceptDownloads: true, locale: "en-GB", timezoneId: "Europe/Oslo" };

const result = { scenario: args.scenario, ok: false, screenshots: [], consoleErrors: [], steps: [] };

function step(name, extra = {}) {
  result.steps.push({ name, at: new Date().toISOString(), ...extra });
}

async function shot(page, name, fullPage = true) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  result.screenshots.push(file);
  return file;
}

async function signIn(page, username, password) {
  await page.goto(`${BASE}/`, { waitUntil: "domcontentloaded" });
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 20_000 });
  step("signed in", { username, url: page.url() });
}

/** A phone-sized screenshot of the current page, then back to the desktop size. */
async function phoneShot(page, name) {
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(600); // charts follow their container's width
  await shot(page, name);
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(300);
}

/** Waits until no spinner ("status" role with Loading…) is left, or the timeout passes. */
async function settle(page, timeout = 15_000) {
  await page.waitForLoadState("networkidle", { timeout }).catch(() => {});
  await page
    .waitForFunction(() => !document.querySelector('[role="status"][aria-live="polite"]'), null, { timeout })
    .catch(() => {});
  await page.waitForTimeout(300);
}


/**
 * What has keyboard focus now, and whether it shows a visible indicator: an outline, or a
 * box-shadow ring that the same element does not have unfocused (compared with a clone, so a
 * button's permanent shadow does not count as a focus ring).
 */
async function focusInfo(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const transparent = (c) => c === "transparent" || /rgba\([^)]*,\s*0\)$/.test(c);
    const outlined = (cs) => cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 1 && !transparent(cs.outlineColor);
    const cs = getComputedStyle(el);
    const focused = { outline: outlined(cs), shadow: cs.boxShadow };
    const clone = el.cloneNode(false);
    clone.removeAttribute("id");
    clone.setAttribute("aria-hidden", "true");
    el.parentNode.insertBefore(clone, el);
    const rest = getComputedStyle(clone);
    const unfocused = { outline: outlined(rest), shadow: rest.boxShadow };
    clone.remove();
    const r = el.getBoundingClientRect();
    const label = (el.getAttribute("aria-label") || el.labels?.[0]?.innerText || el.innerText || el.getAttribute("name") || "").trim().replace(/\s+/g, " ").slice(0, 60);
    return {
      tag: el.tagName.toLowerCase(),
      type: el.getAttribute("type") || "",
      label,
      href: el.getAttribute("href") || "",
      testid: el.getAttribute("data-testid") || "",
      visible: (focused.outline && !unfocused.outline) || (focused.shadow !== "none" && focused.shadow !== unfocused.shadow),
      onScreen: r.width > 0 && r.height > 0,
    };
  });
}

/** Presses Tab until `match(focus)` holds (at most `max` times); every focus seen goes to `seen`. */
async function tabUntil(page, match, seen, max = 120) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const info = await focusInfo(page);
    if (info) seen.push({ url: new URL(page.url()).pathname, ...info });
    if (match(info)) return info;
  }
  return null;
}

const NAMED_ROLES = new Set(["textbox", "searchbox", "combobox", "listbox", "spinbutton", "checkbox", "radio", "switch", "slider", "button", "link", "menuitem", "tab", "Date", "DateTime", "InputTime"]);

/** Every interactive element in the accessibility tree (Chromium's computed names) without a name. */
async function unnamedControls(page, cdp) {
  const { nodes } = await cdp.send("Accessibility.getFullAXTree");
  const out = [];
  for (const n of nodes) {
    if (n.ignored || !NAMED_ROLES.has(n.role?.value)) continue;
    if ((n.name?.value ?? "").trim()) continue;
    let html = "";
    if (n.backendDOMNodeId) {
      const { node } = await cdp.send("DOM.describeNode", { backendNodeId: n.backendDOMNodeId }).catch(() => ({ node: null }));
      if (node) {
        const attrs = node.attributes ?? [];
        const pairs = [];
        for (let i = 0; i < attrs.length; i += 2) pairs.push(`${attrs[i]}="${attrs[i + 1]}"`);
        html = `<${node.localName} ${pairs.join(" ")}>`.slice(0, 160);
      }
    }
    out.push({ role: n.role.value, html });
  }
  return out;
}

/**
 * How far the page scrolls sideways, and the elements that stick out past the viewport's right
 * edge (the deepest ones, so the culprit is named rather than its wrapper).
 */
async function overflowInfo(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const out = [];
    for (const el of document.querySelectorAll("body *")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 0.5) continue;
      let clipped = false; // inside a scroll box or a clipping parent: does not widen the page
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const ox = getComputedStyle(p).overflowX;
        if (ox !== "visible" && p.getBoundingClientRect().right <= width + 0.5) { clipped = true; break; }
      }
      if (clipped) continue;
      if ([...el.children].some((c) => c.getBoundingClientRect().right > width + 0.5)) continue;
      const cls = typeof el.className === "string" ? el.className.slice(0, 80) : "";
      out.push(`${el.tagName.toLowerCase()}.${cls} right=${Math.round(r.right)} "${(el.textContent || "").trim().slice(0, 40)}"`);
      if (out.length >= 5) break;
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: width, offenders: out };
  });
}

/** axe-core's serious and critical violations on the current page (WCAG 2.x A/AA rules). */
async function axeViolations(page) {
  // Evaluated through the DevTools protocol (not a <script> tag), so the app's CSP stays in force.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(readFileSync(AXE_SOURCE, "utf8"));
  return page.evaluate(async () => {
    const { violations } = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"] });
    return violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")}: ${(n.failureSummary || "").split("\n").slice(1, 2).join("").trim().slice(0, 160)}`) }));
  });
}

/**
 * The WCAG contrast ratio of each element matching `selector`: its text colour against the
 * background it is drawn on (every ancestor's background composited over the canvas's, opacity
 * folded in). Colours are resolved through a 1x1 canvas, so oklch() and color-mix() read as the
 * sRGB the screen shows.
 */
async function contrastOf(page, selector) {
  return page.$$eval(selector, (els) => {
    const ctx = Object.assign(document.createElement("canvas"), { width: 1, height: 1 }).getContext("2d", { willReadFrequently: true });
    const rgba = (css) => {
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = "#000";
      ctx.fillStyle = css;
      ctx.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
      return [r, g, b, a / 255];
    };
    const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
    const lum = ([r, g, b]) => {
      const lin = (c) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    return els.map((el) => {
      const chain = [];
      let opacity = 1;
      for (let n = el; n; n = n.parentElement) {
        const cs = getComputedStyle(n);
        chain.unshift(rgba(cs.backgroundColor));
        opacity *= Number(cs.opacity);
      }
      let bg = [255, 255, 255, 1]; // the canvas behind the root
      for (const layer of chain) bg = over(layer, bg);
      const fg = rgba(getComputedStyle(el).color);
      const text = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
      const [hi, lo] = [lum(text), lum(bg)].sort((a, b) => b - a);
      return { text: (el.textContent || "").trim().slice(0, 40), color: getComputedStyle(el).color, background: `rgb(${bg.slice(0, 3).map(Math.round).join(" ")})`, ratio: Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100 };
    });
  });
}

/**
 * With the keyboard only, on the chart that has focus: the arrow keys, Home and End read points
 * out in its live region, Tab reaches "Show as table" and Enter opens the table, whose first row
 * says what Home read out. Returns what was read and shown.
 */
async function readChartByKeyboard(page, name) {
  // Marked, so the chart is still found once focus has moved on to its table toggle.
  const label = await page.evaluate((mark) => {
    const el = document.activeElement;
    el.parentElement.setAttribute("data-e2e-chart", mark);
    return el.getAttribute("aria-label");
  }, name);
  const box = page.locator(`[data-e2e-chart="${name}"]`);
  const readout = box.getByTestId("chart-readout");
  const read = async () => (await readout.innerText()).trim();
  const out = { name, label, reads: [] };
  await page.keyboard.press("ArrowRight");
  out.reads.push(await read());
  await page.keyboard.press("ArrowRight");
  out.reads.push(await read());
  await page.keyboard.press("End");
  out.last = await read();
  await page.keyboard.press("Home");
  out.first = await read();
  out.live = await readout.getAttribute("aria-live");
  // The table alternative: the next tab stop after the chart, opened with Enter.
  await page.keyboard.press("Tab");
  out.toggleFocused = await page.evaluate(() => document.activeElement?.getAttribute("data-testid") === "chart-table-toggle");
  await page.keyboard.press("Enter");
  // The table alternative, captioned with the chart's name (uPlot's legend is a table too).
  const tableOf = () => box.getByRole("table", { name: label.split(". Arrow keys")[0], exact: true });
  const table = tableOf();
  await table.waitFor({ timeout: 5_000 });
  out.expanded = await box.getByTestId("chart-table-toggle").getAttribute("aria-expanded");
  out.caption = (await table.locator("caption").innerText()).trim();
  out.rows = await table.locator("tbody tr").count();
  out.firstRow = await table.locator("tbody tr").first().locator("th, td").evaluateAll((cells) => cells.map((c) => c.textContent.trim()));
  await shot(page, `40-keyboard-chart-${name}`, false);
  await page.keyboard.press("Enter");
  out.closed = (await tableOf().count()) === 0;
  return out;
}

const scenarios = {
  /**
   * The refresh token is an HttpOnly cookie: not in document.cookie nor in any storage; a reload
   * resumes the session through it (refresh through Envoy, rotated); a page on another site
   * cannot use it (SameSite=Strict: not sent; the session header needs a CORS grant it never gets).
   */
  async "refresh-cookie"(ctx, page) {
    await signIn(page, params.username, params.password);
    const readable = () =>
      page.evaluate(() => ({
        documentCookie: document.cookie,
        sessionStorage: Object.entries(sessionStorage),
        localStorage: Object.entries(localStorage),
      }));
    result.afterSignIn = await readable();
    const jar = async () => (await ctx.cookies(`${BASE}/api/v1/auth/refresh`)).filter((c) => c.name === "ep_refresh");
    const [cookie] = await jar();
    result.cookie = cookie && { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite, path: cookie.path, secure: cookie.secure, hasValue: cookie.value.length > 20 };
    const refreshes = [];
    page.on("response", (r) => {
      if (r.url().endsWith("/api/v1/auth/refresh")) refreshes.push(r.status());
    });
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 20_000 });
    result.refreshStatuses = refreshes.slice();
    result.afterReload = await readable();
    const [rotated] = await jar();
    result.rotated = Boolean(cookie && rotated && rotated.value !== cookie.value);
    step("reloaded and resumed through the cookie");

    // Another site: "localhost" is another site than "127.0.0.1" (both loopback, so Chromium's
    // private-network checks do not interfere). Its page is the edge's /livez (no CSP there).
    const target = `${BASE}/api/v1/auth/refresh`;
    const evil = await ctx.newPage();
    const sent = [];
    evil.on("request", async (r) => {
      if (r.url() === target && r.method() === "POST") sent.push({ cookie: (await r.allHeaders()).cookie ?? "" });
    });
    const crossStatuses = [];
    evil.on("response", (r) => {
      if (r.url() === target) crossStatuses.push(r.status());
    });
    await evil.goto(BASE.replace("127.0.0.1", "localhost") + "/livez", { waitUntil: "domcontentloaded" });
    result.crossSite = await evil.evaluate(async (url) => {
      const out = {};
      // A simple request (no preflight): sent, but without the Strict cookie and without the header.
      await fetch(url, { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: "{}" });
      // With the session header: a preflight the edge does not grant, so the POST is never sent.
      try {
        await fetch(url, { method: "POST", credentials: "include", headers: { "content-type": "application/json", "x-energypulse-session": "cookie" }, body: "{}" });
        out.preflightedSent = true;
      } catch {
        out.preflightedSent = false;
      }
      return out;
    }, target);
    await evil.waitForTimeout(500);
    result.crossSite.requests = sent;
    result.crossSite.statuses = crossStatuses;
    await evil.close();
    // The victim's session is untouched: the same cookie still resumes it.
    const [after] = await jar();
    result.cookieUnchangedByCrossSite = Boolean(after && rotated && after.value === rotated.value);
    await page.reload({ waitUntil: "domcontentloaded" });
    await page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 20_000 });
    await shot(page, "refresh-cookie-resumed");
  },

  /**
   * Every page, for every account, at every size: signs in once per account, then visits each
   * path and records whether the page scrolls sideways (scrollWidth > innerWidth), with a
   * screenshot named account-size-page. params: { accounts: [{label, username, password, pages:
   * [{name, path, heading?}]}], sizes: [{width, height}], colorScheme?: "light" | "dark",
   * openTables?: boolean }. A dark sweep emulates prefers-color-scheme: dark and names its
   * screenshots sweep-dark-*; openTables shows every chart's table before the scan.
   */
  async sweep(ctx) {
    result.visits = [];
    result.contrast = [];
    const scheme = params.colorScheme ?? "light";
    const prefix = `sweep-${scheme === "dark" ? "dark-" : ""}`;
    // Explicit contrast checks (params.contrast: [{page, name, selector}]): every match measured.
    const measure = async (pageName, size) => {
      for (const check of (params.contrast ?? []).filter((c) => c.page === pageName)) {
        await page_.locator(check.selector).first().waitFor({ timeout: 60_000 });
        for (const m of await contrastOf(page_, check.selector)) result.contrast.push({ check: check.name, page: pageName, size, scheme, ...m });
      }
    };
    let page_;
    // The signed-out pages (sign-in, password reset), in a context without a session.
    if (params.publicPages?.length) {
      const publicCtx = await ctx.browser().newContext({ ...CONTEXT_OPTIONS, colorScheme: scheme });
      page_ = await publicCtx.newPage();
      for (const size of params.sizes) {
        await page_.setViewportSize(size);
        for (const target of params.publicPages) {
          await page_.goto(`${BASE}${target.path}`, { waitUntil: "networkidle" });
          await page_.locator("main h1").first().waitFor({ timeout: 30_000 });
          const sizeName = `${size.width}x${size.height}`;
          await measure(target.name, sizeName);
          const info = await overflowInfo(page_);
          const axe = params.axe ? await axeViolations(page_) : [];
          const name = `${prefix}signed-out-${sizeName}-${target.name}`;
          await shot(page_, name);
          result.visits.push({ account: "signed-out", scheme: await page_.evaluate(() => (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light")), size: sizeName, page: target.name, path: target.path, tables: 0, heading: (await page_.locator("main h1").first().innerText()).trim(), axe, ...info });
          step("visited", { name });
        }
      }
      await publicCtx.close();
    }
    for (const account of params.accounts) {
      // A fresh context per account: nothing of the previous session is left over.
      const accountCtx = await pinEnglish(await ctx.browser().newContext({ ...CONTEXT_OPTIONS, colorScheme: scheme }));
      const page = await accountCtx.newPage();
      page_ = page;
      page.on("pageerror", (err) => result.consoleErrors.push(`pageerror: ${String(err).slice(0, 300)}`));
      await signIn(page, account.username, account.password);
      // The app follows the system setting: check the page really is in the scheme asked for.
      result.prefersDark = await page.evaluate(() => matchMedia("(prefers-color-scheme: dark)").matches);
      result.bodyBackground = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      for (const size of params.sizes) {
        await page.setViewportSize(size);
        for (const target of account.pages) {
          await page.goto(`${BASE}${target.path}`, { waitUntil: "domcontentloaded" });
          await page.locator("main h1").first().waitFor({ timeout: 30_000 });
          await settle(page, 10_000);
          if (account.label === (params.contrastAccount ?? "household")) await measure(target.name, `${size.width}x${size.height}`);
          // Charts' table alternatives opened, so the scan and the screenshot cover them too.
          let tables = 0;
          if (params.openTables) {
            for (const toggle of await page.getByTestId("chart-table-toggle").all()) {
              await toggle.click();
              tables += 1;
            }
            if (tables) await page.getByRole("table").first().waitFor({ timeout: 5_000 });
          }
          const info = await overflowInfo(page);
          const axe = params.axe ? await axeViolations(page) : [];
          const name = `${prefix}${account.label}-${size.width}x${size.height}-${target.name}`;
          await shot(page, name);
          result.visits.push({ account: account.label, scheme, size: `${size.width}x${size.height}`, page: target.name, path: target.path, tables, heading: (await page.locator("main h1").first().innerText()).trim(), axe, ...info });
          step("visited", { name });
        }
      }
      await accountCtx.close();
    }
    result.ok = result.visits.length > 0;
  },

  /** The owner renames the household on the overview; the title shows the name, the ID stays beside it. */
  async rename(ctx, page) {
    await signIn(page, params.username, params.password);
    await page.getByTestId("rename-household").click();
    await page.getByLabel("Household name").fill(params.name);
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator("main h1", { hasText: params.name.trim() }).waitFor({ timeout: 20_000 });
    result.title = (await page.locator("main h1").innerText()).trim();
    result.householdId = (await page.getByTestId("household-id").innerText()).trim();
    result.headerHousehold = (await page.locator("header").first().innerText()).trim();
    await shot(page, "12-renamed-household", false);
    // A name the server refuses: the form says why and stays open.
    await page.getByTestId("rename-household").click();
    await page.getByLabel("Household name").fill("   ");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("alert").waitFor({ timeout: 20_000 });
    result.refusal = (await page.getByRole("alert").innerText()).trim();
    await phoneShot(page, "12-rename-refused");
    result.ok = true;
  },

  /** The sign-in page, then a household user's overview with a changing live power value. */
  async live(ctx, page) {
    await page.goto(`${BASE}/`, { waitUntil: "networkidle" });
    await shot(page, "01-sign-in");
    await signIn(page, params.username, params.password);
    const power = page.getByTestId("live-power");
    await power.waitFor({ timeout: 45_000 });
    const first = (await power.textContent())?.trim();
    step("first live value", { value: first });
    const deadline = Date.now() + (params.changeTimeoutMs ?? 60_000);
    const values = [first];
    while (Date.now() < deadline) {
      await page.waitForTimeout(1000);
      const v = (await power.textContent())?.trim();
      if (v !== values[values.length - 1]) values.push(v);
      if (values.length >= 3) break;
    }
    result.liveValues = values;
    result.liveStatus = await page.getByTestId("live-status").textContent();
    result.url = page.url();
    await settle(page);
    // The price cards: cheapest periods (certain / likely) and the spike chance per day.
    await page.locator("[data-testid=cheapest-hours] span[title]").first().waitFor({ timeout: 60_000 });
    result.cheapest = await page.$$eval("[data-testid=cheapest-hours] span[title]", (els) => els.map((e) => e.getAttribute("title")));
    result.likelyCheapest = await page.locator("[data-testid=likely-cheapest] span").count();
    result.spikeDays = await page.$$eval("[data-testid=spike-days] li", (els) => els.map((e) => e.textContent));
    // One unit on the home cards: each price card names it (øre/kWh on a NOK installation) and says spot.
    const text = async (id) => (await page.getByTestId(id).first().textContent({ timeout: 30_000 }))?.trim() ?? "";
    await page.getByTestId("today-chart-unit").waitFor({ timeout: 60_000 });
    result.units = {
      priceBars: await text("price-bars-unit"),
      weekAhead: await text("week-ahead-unit"),
      spike: await text("spike-unit"),
      todayChart: await text("today-chart-unit"),
      nextHour: await text("next-hour-price"),
      accuracy: await text("accuracy-sentence"),
    };
    result.cheapestText = await page.getByTestId("cheapest-hours").innerText();
    result.likelyText = await page.getByTestId("likely-cheapest").innerText();
    result.priceCardsText = await page.locator("#price-bars-title, #price-forecast-title, #spike-title, #today-chart-title, #accuracy-title, #windows-title").evaluateAll((els) => els.map((e) => e.closest("[aria-labelledby]")?.textContent ?? ""));
    await shot(page, "02-overview");
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.waitForTimeout(600);
    await shot(page, "02-overview-1440x900", false);
    await page.getByTestId("spike-days").scrollIntoViewIfNeeded();
    await shot(page, "02-overview-prices-1440x900", false);
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(600);
    await shot(page, "02-overview-phone");
    await page.getByTestId("cheapest-hours").scrollIntoViewIfNeeded();
    await shot(page, "02-overview-prices-390x844", false);
    await page.locator("#today-chart-title").scrollIntoViewIfNeeded();
    await shot(page, "02-overview-today-390x844", false);
    await page.locator("#price-forecast-title").evaluate((e) => e.scrollIntoView({ block: "start" }));
    await shot(page, "02-overview-week-390x844", false);
    await page.setViewportSize(DESKTOP);
    result.ok = values.length >= 2;
  },

  /** The notification centre: the badge follows the stream live, the list shows the alert, read clears it. */
  async alerts(ctx, page) {
    await signIn(page, params.username, params.password);
    const bell = page.getByTestId("notification-bell");
    await bell.waitFor({ timeout: 20_000 });
    await settle(page);
    const api = (path, data) =>
      page.request.post(`${BASE}${path}`, { headers: { authorization: `Bearer ${params.adminToken}` }, data });
    // A new rule whose condition holds for every coming period: the round raises its alert now.
    const created = await api(`/api/v1/households/${params.householdId}/alert-rules`, {
      rule: { priceSpike: { thresholdEurMwh: -500, lookaheadHours: 1 }, displayName: "Browser test" },
    });
    step("rule created", { status: created.status() });
    const evaluated = await api("/api/v1/alerts:evaluate", { householdId: params.householdId });
    result.raised = (await evaluated.json()).raised;
    const badge = page.getByTestId("notification-badge");
    await badge.waitFor({ timeout: 30_000 });
    result.badge = (await badge.textContent())?.trim();
    result.bellLabel = await bell.getAttribute("aria-label");
    await bell.click();
    const items = page.locator("[data-testid=notification-list] li");
    await items.first().waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => !document.querySelector("[data-testid=notification-list] li")?.textContent?.includes("Loading"));
    result.items = await items.evaluateAll((els) => els.map((e) => e.textContent));
    await shot(page, "30-notifications");
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(500);
    result.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // The panel itself lies inside the screen (a panel cut off at the left adds no scroll width).
    result.panelInView = await page.evaluate(() => {
      const box = document.getElementById("notification-center")?.getBoundingClientRect();
      return !!box && box.left >= 0 && box.right <= window.innerWidth;
    });
    await shot(page, "30-notifications-phone");
    await page.setViewportSize(DESKTOP);
    await page.keyboard.press("Escape");
    result.closedByEscape = (await page.locator("#notification-center").count()) === 0;
    await bell.focus();
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Mark all read" }).click();
    await badge.waitFor({ state: "detached", timeout: 30_000 });
    result.badgeAfterRead = await page.getByTestId("notification-badge").count();
    await page.keyboard.press("Escape");

    // The settings page: a rule the household sets (an EV's four hours), bad input and a private webhook refused.
    await page.getByRole("link", { name: "Alerts" }).first().click();
    await page.getByRole("heading", { name: "Alerts" }).waitFor();
    const form = page.getByRole("form", { name: "New rule" });
    await form.getByLabel("Alert me about").selectOption("cheapWindow");
    await form.getByLabel("Duration (hours)").fill("0.3");
    await form.getByRole("button", { name: "Add rule" }).click();
    result.badRuleError = await page.getByRole("alert").first().textContent({ timeout: 10_000 });
    await form.getByLabel("Duration (hours)").fill("4");
    await form.getByLabel("Name (optional)").fill("EV charging");
    await form.getByRole("button", { name: "Add rule" }).click();
    await page.getByTestId("alert-rules").getByText("EV charging").waitFor({ timeout: 10_000 });
    result.rules = await page.getByTestId("alert-rules").locator("li").evaluateAll((els) => els.map((e) => e.textContent));
    const hook = page.getByRole("form", { name: "New webhook" });
    await hook.getByLabel("Webhook URL").fill("http://10.0.0.1/hook");
    await hook.getByRole("button", { name: "Add webhook" }).click();
    result.privateHookError = await page.getByRole("alert").last().textContent({ timeout: 10_000 });
    await shot(page, "31-alert-settings");
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(500);
    result.settingsPhoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await shot(page, "31-alert-settings-phone");
    await page.setViewportSize(DESKTOP);
    result.ok = true;
  },

  /** The NOK bill: this month's lines and projection on the overview, then Spot or Norgespris with its CSV. */
  async bill(ctx, page) {
    const WIDE = { width: 1440, height: 900 };
    await page.setViewportSize(WIDE);
    await signIn(page, params.username, params.password);
    const total = page.getByTestId("month-cost-total");
    await total.waitFor({ timeout: 45_000 });
    await settle(page, 20_000);
    result.monthTotal = (await total.textContent())?.trim();
    result.projection = (await page.getByTestId("month-cost-projection").textContent())?.trim();
    result.lastMonth = (await page.getByTestId("month-cost-last").textContent())?.trim();
    result.lines = await page.locator("[data-line]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-line")));
    await page.getByRole("heading", { name: "This month so far" }).scrollIntoViewIfNeeded();
    await shot(page, "10-bill-overview-1440x900", false);
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(600);
    await page.getByRole("heading", { name: "This month so far" }).scrollIntoViewIfNeeded();
    await shot(page, "10-bill-overview-390x844", false);
    await page.setViewportSize(WIDE);
    await page.getByRole("link", { name: "Spot or Norgespris" }).first().click();
    await page.getByRole("heading", { name: "Spot or Norgespris" }).waitFor();
    await settle(page, 20_000);
    // settle() gives up quietly after its timeout; under load the comparison can still be loading
    // then, so wait for the data itself (the projection and the first month row) before counting.
    await page.getByTestId("scheme-projection-own").waitFor({ timeout: 45_000 });
    await page.locator("tbody tr").first().waitFor({ timeout: 45_000 });
    result.schemeRows = await page.locator("tbody tr").count();
    result.ownProjection = (await page.getByTestId("scheme-projection-own").textContent())?.trim();
    await shot(page, "11-schemes-1440x900", false);
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(600);
    await shot(page, "11-schemes-390x844", false);
    await page.setViewportSize(WIDE);
    const download = page.waitForEvent("download", { timeout: 20_000 });
    await page.getByRole("button", { name: "CSV" }).click();
    const file = await download;
    const csvPath = path.join(ARTIFACTS, "spot-or-norgespris.csv");
    await file.saveAs(csvPath);
    result.csv = readFileSync(csvPath, "utf8");
    result.ok = true;
  },

  /** History, export and ledger pages render (screenshots), as a household user. */
  async pages(ctx, page) {
    await signIn(page, params.username, params.password);
    await page.getByRole("link", { name: "History" }).first().click();
    await page.getByRole("heading", { name: "History" }).waitFor();
    await settle(page, 20_000);
    await page.getByRole("button", { name: "30 days" }).click();
    await settle(page, 20_000);
    result.historyState = await page.evaluate(() =>
      document.querySelector("[data-state=error]") ? "error" : document.querySelector("[data-state=empty]") ? "empty" : "data",
    );
    await shot(page, "03-history");
    await phoneShot(page, "03-history-phone");
    await page.getByRole("link", { name: "Export" }).first().click();
    await page.getByRole("heading", { name: "Export" }).waitFor();
    const download = page.waitForEvent("download", { timeout: 20_000 });
    await page.getByTestId("export-readings").click();
    const file = await download;
    result.exportFile = file.suggestedFilename();
    const csvPath = path.join(ARTIFACTS, "..", file.suggestedFilename());
    await file.saveAs(csvPath);
    result.exportCsv = csvPath;
    await shot(page, "06-export");
    await page.getByRole("link", { name: "Ledger" }).first().click();
    await page.getByRole("heading", { name: "Ledger explorer" }).waitFor();
    await settle(page, 20_000);
    result.headSize = await page.getByTestId("head-size").textContent().catch(() => null);
    await shot(page, "05-ledger");
    const firstBlock = page.locator("[data-testid=blocks] a").first();
    if (await firstBlock.count()) {
      await firstBlock.click();
      await settle(page);
      await shot(page, "05-ledger-block");
    }
    await page.setViewportSize(PHONE);
    await page.goto(`${BASE}/ledger`);
    await settle(page);
    await shot(page, "05-ledger-phone");
    result.ok = true;
  },

  /** Verify an invoice in the browser; report every line's verdict. */
  async invoice(ctx, page) {
    await signIn(page, params.username, params.password);
    const household = params.household;
    await page.goto(`${BASE}/households/${encodeURIComponent(household)}/invoices?month=${params.month}`);
    await page.getByRole("heading", { name: "Invoice" }).waitFor();
    await page.getByTestId("invoice-line").first().waitFor({ timeout: 30_000 });
    await page.getByTestId("verify-invoice").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    result.summary = await page.getByTestId("verify-summary").innerText();
    result.summaryOk = (await page.getByTestId("verify-summary").getAttribute("data-ok")) === "true";
    result.summaryIntegrity = (await page.getByTestId("verify-summary").getAttribute("data-integrity")) === "true";
    result.summaryComplete = (await page.getByTestId("verify-summary").getAttribute("data-complete")) === "true";
    result.periodsMissing = Number(await page.getByTestId("invoice-periods-card").getAttribute("data-missing"));
    // Why each missing period was not billed, as the page shows it after verifying (spec §17.7).
    result.missingReasons = await page.$$eval("[data-testid=invoice-missing-reasons]", (lists) =>
      lists.map((l) => ({ verified: l.getAttribute("data-verified") === "true", reasons: [...l.querySelectorAll("li")].map((li) => ({ reason: li.getAttribute("data-reason"), count: Number(li.getAttribute("data-count")), text: li.textContent })) })),
    );
    result.lines = await page.$$eval("[data-testid=invoice-line]", (rows) => rows.map((r) => ({ tx: r.getAttribute("data-tx"), verdict: r.getAttribute("data-verdict") })));
    await shot(page, params.shot ?? "04-invoice-verified");
    await phoneShot(page, `${params.shot ?? "04-invoice-verified"}-phone`);
    result.ok = true;
  },

  /** Issue #21: the language switch turns the whole home page Norwegian (text, numbers, dates),
   *  remembered across a reload; desktop and phone screenshots, no sideways scroll at 390 px. */
  async norsk(ctx, page) {
    await signIn(page, params.username, params.password);
    await settle(page);
    await page.locator('[data-testid="locale-nb-NO"]:visible').first().click();
    await page.getByRole("link", { name: "Oversikt" }).first().waitFor();
    step("switched to Norsk");
    await page.reload({ waitUntil: "domcontentloaded" }); // the choice is remembered in this browser
    await page.getByRole("link", { name: "Oversikt" }).first().waitFor();
    await page.getByTestId("live-power").waitFor({ timeout: 30_000 });
    await settle(page);
    result.lang = await page.evaluate(() => document.documentElement.lang);
    result.stored = await page.evaluate(() => localStorage.getItem("energypulse.locale"));
    result.pressed = await page.locator('[data-testid="locale-nb-NO"]:visible').first().getAttribute("aria-pressed");
    result.mainText = await page.locator("main").innerText();
    result.navText = await page.locator("nav").first().innerText();
    await shot(page, "i18n-home-nb-desktop");
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(800); // charts follow their container's width
    result.phoneOverflow = await overflowInfo(page);
    await shot(page, "i18n-home-nb-phone");
    result.ok = true;
  },

  /** A household user cannot reach the admin pages or another household's data. */
  async forbidden(ctx, page) {
    await signIn(page, params.username, params.password);
    result.adminNavVisible = await page.getByRole("link", { name: "Admin" }).count();
    await page.goto(`${BASE}/admin/users`);
    await page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 20_000 });
    result.adminBlocked = await page.getByTestId("not-allowed").isVisible({ timeout: 10_000 }).catch(() => false);
    await page.getByTestId("not-allowed").waitFor({ timeout: 10_000 }).catch(() => {});
    result.adminBlocked = await page.getByTestId("not-allowed").isVisible();
    await shot(page, "07-user-admin-blocked");
    await page.goto(`${BASE}/households/${encodeURIComponent(params.otherHousehold)}`);
    await page.getByTestId("not-allowed").waitFor({ timeout: 20_000 }).catch(() => {});
    result.otherHouseholdBlocked = await page.getByTestId("not-allowed").isVisible();
    result.otherHouseholdMessage = result.otherHouseholdBlocked ? await page.getByTestId("not-allowed").innerText() : null;
    result.leakedPower = await page.getByTestId("live-power").count();
    await shot(page, "07-user-other-household-blocked");
    result.ok = result.adminBlocked && result.otherHouseholdBlocked && result.leakedPower === 0;
  },

  /**
   * Keyboard only: sign in by typing, then reach every page with Tab and Enter. Every focus stop
   * must show a visible indicator and every control must have an accessible name.
   */
  async keyboard(ctx, page) {
    const cdp = await ctx.newCDPSession(page);
    await page.goto(`${BASE}/`, { waitUntil: "networkidle" });
    // The username field has autofocus; from there on only the keyboard.
    await page.getByLabel("Username").waitFor();
    result.signInUnnamed = await unnamedControls(page, cdp);
    await page.keyboard.type(params.username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(params.password);
    await page.keyboard.press("Enter");
    await page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 20_000 });
    step("signed in with the keyboard");
    await settle(page);

    const seen = [];
    const visited = [];
    const unnamed = {};
    const isLink = (name) => (f) => f?.tag === "a" && f.label === name;
    const sweep = async (name) => {
      // Walk the whole page once: Tab until focus leaves the document or comes back round.
      const start = seen.length;
      await tabUntil(page, (f) => f === null || (seen.length - start > 1 && f.label === "Skip to content"), seen, 150);
      unnamed[name] = await unnamedControls(page, cdp);
    };
    const pages = [...params.pages];
    for (const { link, heading } of pages) {
      const target = await tabUntil(page, isLink(link), seen);
      if (!target) throw new Error(`could not reach the "${link}" link with Tab`);
      await page.keyboard.press("Enter");
      const title = heading ? page.getByRole("heading", { name: heading, exact: true }) : page.locator("main h1");
      await title.first().waitFor({ timeout: 20_000 });
      await settle(page);
      visited.push({ link, url: new URL(page.url()).pathname });
      await sweep(link);
      step("visited with the keyboard", { link });
    }
    // A focus ring screenshot: the first nav link focused.
    await tabUntil(page, isLink(pages[0].link), seen);
    await shot(page, "09-keyboard-focus", false);
    result.visited = visited;
    result.focusStops = seen.length;
    result.invisibleFocus = seen.filter((f) => !f.visible || !f.onScreen);
    result.unnamed = Object.fromEntries(Object.entries(unnamed).filter(([, v]) => v.length));
    result.ok = visited.length === pages.length && result.invisibleFocus.length === 0 && Object.keys(result.unnamed).length === 0 && result.signInUnnamed.length === 0;
  },

  /**
   * Keyboard only, beyond reaching pages: sign in by typing; on the overview, the history and the
   * operator's health page, Tab to a chart, read values with the arrow keys, open and close its
   * table; on Alerts add a rule and delete it again; on Users start a role change, leave its
   * confirmation with Escape (focus back on the select, role unchanged); on the audit log filter
   * by actor. params: { username, password, householdId, target }.
   */
  async "keyboard-tasks"(ctx, page) {
    await page.goto(`${BASE}/`, { waitUntil: "networkidle" });
    await page.getByLabel("Username").waitFor();
    await page.keyboard.type(params.username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(params.password);
    await page.keyboard.press("Enter");
    await page.getByTestId("signed-in-user").first().waitFor({ state: "attached", timeout: 20_000 });
    const seen = [];
    const go = async (link, heading) => {
      await page.keyboard.press("Escape");
      if (!(await tabUntil(page, (f) => f?.tag === "a" && f.label === link, seen, 300))) throw new Error(`no "${link}" link by Tab`);
      await page.keyboard.press("Enter");
      const title = heading ? page.getByRole("heading", { name: heading, exact: true }) : page.locator("main h1");
      await title.first().waitFor({ timeout: 20_000 });
      await settle(page);
      step("at", { link });
    };
    // The chart whose name starts with `named` (the first chart when none is given).
    const toChart = async (name, waitFor = "[data-testid=chart-focus]", named = "") => {
      await page.locator(waitFor).first().waitFor({ timeout: 60_000 });
      if (!(await tabUntil(page, (f) => f?.testid === "chart-focus" && f.label.startsWith(named), seen, 200))) throw new Error(`no chart by Tab on ${name}`);
      return readChartByKeyboard(page, name);
    };
    result.charts = [];
    // The overview's chart of today (an admin lands on Administration: the overview is a link
    // away); today's spot prices are always there, whatever the meter has sent yet.
    await settle(page);
    await go("Overview", null);
    result.charts.push(await toChart("overview", "main [data-testid=chart-focus]", "Today's power consumption"));
    result.overviewPath = new URL(page.url()).pathname;
    await go("History", "History");
    result.charts.push(await toChart("history"));

    // Alerts: a rule added with the keyboard (the form's defaults, a name typed), then deleted.
    await go("Alerts", "Alerts");
    if (!(await tabUntil(page, (f) => f?.tag === "input" && f.label === "Name (optional)", seen, 200))) throw new Error("no rule name field by Tab");
    const ruleName = `Keyboard rule ${Date.now()}`;
    await page.keyboard.type(ruleName);
    await page.keyboard.press("Enter");
    const rules = page.getByTestId("alert-rules");
    await rules.getByText(ruleName).waitFor({ timeout: 15_000 });
    result.ruleAdded = true;
    await page.keyboard.press("Escape");
    await page.evaluate(() => document.activeElement?.blur());
    if (!(await tabUntil(page, (f) => f?.tag === "button" && f.label === `Delete rule ${ruleName}`, seen, 250))) throw new Error("no delete button by Tab");
    await page.keyboard.press("Enter");
    await rules.getByText(ruleName).waitFor({ state: "detached", timeout: 15_000 });
    result.ruleDeleted = true;

    // The operator's health page: each service's 24 h status and latency history is a chart.
    await go("Admin", "Administration");
    await page.waitForFunction(() => !document.querySelector("[data-ok=pending]"), null, { timeout: 20_000 }).catch(() => {});
    result.charts.push(await toChart("health", "[data-testid^=health-] [data-testid=chart-focus]"));
    result.healthCharts = await page.locator("[data-testid^=health-] [data-testid=chart-focus]").count();
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(500);
    await shot(page, "40-keyboard-chart-health-phone", false);
    await page.setViewportSize(DESKTOP);

    // Users: a role change asks first; Escape leaves it, focus returns to the select, nothing changed.
    await go("Users", "Accounts");
    const select = page.getByLabel(`Role of ${params.target}`);
    await select.waitFor({ timeout: 20_000 });
    const before = await select.inputValue();
    if (!(await tabUntil(page, (f) => f?.tag === "select" && f.label.startsWith("Role of") && f.label.includes(params.target), seen, 300))) {
      // The select's own name is its aria-label; focusInfo reads that first.
      throw new Error(`no role select for ${params.target} by Tab`);
    }
    // The next role down (up from the last): a change, so the confirmation opens.
    const last = await select.evaluate((el) => el.selectedIndex === el.options.length - 1);
    await page.keyboard.press(last ? "ArrowUp" : "ArrowDown");
    const dialog = page.getByTestId("confirm-dialog");
    await dialog.waitFor({ timeout: 10_000 });
    result.dialogHasFocus = await page.evaluate(() => !!document.activeElement?.closest("[data-testid=confirm-dialog]"));
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: 10_000 });
    result.focusBackOnSelect = await page.evaluate((t) => document.activeElement?.getAttribute("aria-label") === `Role of ${t}`, params.target);
    await page.waitForTimeout(500);
    result.roleUnchanged = (await select.inputValue()) === before;

    // Audit log: the actor filter typed and applied with Enter.
    await go("Audit log", "Audit log");
    if (!(await tabUntil(page, (f) => f?.tag === "input" && f.label.startsWith("Actor"), seen, 200))) throw new Error("no actor field by Tab");
    await page.keyboard.type(params.username);
    await page.keyboard.press("Enter");
    await page.waitForFunction(
      (actor) => {
        const rows = [...document.querySelectorAll("[data-testid=audit-row]")];
        return rows.length > 0 && rows.every((r) => r.getAttribute("data-actor") === actor);
      },
      params.username,
      { timeout: 20_000 },
    );
    result.auditActors = await page.locator("[data-testid=audit-row]").evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute("data-actor")))]);
    await shot(page, "40-keyboard-audit-filtered", false);
    result.invisibleFocus = seen.filter((f) => !f.visible || !f.onScreen);
    result.ok = true;
  },

  /**
   * Every CSV export of a household with nothing in it says so and downloads nothing: History (a
   * range before any reading), the invoice page (a month before any settlement), the export
   * page's readings and invoice. The invoice page's CSV of a month with lines still downloads.
   * params: { username, password, householdId, emptyMonth, month }.
   */
  async "empty-exports"(ctx, page) {
    const downloads = [];
    page.on("download", (d) => downloads.push(d.suggestedFilename()));
    await signIn(page, params.username, params.password);
    const base = `${BASE}/households/${encodeURIComponent(params.householdId)}`;
    const said = async (testId) => (await page.getByTestId(testId).first().innerText({ timeout: 15_000 })).trim();
    result.empty = {};

    await page.goto(`${base}/history`);
    await page.getByRole("heading", { name: "History" }).waitFor();
    await page.getByLabel("From", { exact: true }).fill("2025-01-01");
    await page.getByLabel("To (inclusive)").fill("2025-01-02");
    await settle(page, 20_000);
    await page.locator("[data-state=empty], [data-state=error]").first().waitFor({ timeout: 20_000 });
    result.historyState = await page.locator("[data-state]").first().getAttribute("data-state");
    await page.getByTestId("history-csv").click();
    result.empty.history = await said("csv-empty");
    await shot(page, "41-empty-export-history", false);

    await page.goto(`${base}/invoices?month=${params.emptyMonth}`);
    await page.getByText("No settled hours in this month").waitFor({ timeout: 30_000 });
    await page.getByTestId("invoice-csv").click();
    result.empty.invoice = await said("csv-empty");
    await phoneShot(page, "41-empty-export-invoice");

    await page.goto(`${base}/export`);
    await page.getByRole("heading", { name: "Export" }).waitFor();
    await page.getByLabel("From", { exact: true }).fill("2025-01-01");
    await page.getByLabel("To (inclusive)").fill("2025-01-02");
    await page.getByTestId("export-readings").click();
    result.empty.exportReadings = await said("export-empty");
    await page.getByLabel("Month").selectOption(params.emptyMonth);
    await page.getByTestId("export-invoice").click();
    await page.getByTestId("export-empty").nth(1).waitFor({ timeout: 15_000 });
    result.empty.exportInvoice = (await page.getByTestId("export-empty").nth(1).innerText()).trim();
    await shot(page, "41-empty-export-page", false);
    result.emptyDownloads = downloads.slice();

    // The same button with lines: a file with its header and a row per line.
    await page.goto(`${base}/invoices?month=${params.month}`);
    await page.getByTestId("invoice-line").first().waitFor({ timeout: 30_000 });
    const download = page.waitForEvent("download", { timeout: 20_000 });
    await page.getByTestId("invoice-csv").click();
    const file = await download;
    const csvPath = path.join(ARTIFACTS, "invoice-page.csv");
    await file.saveAs(csvPath);
    result.invoiceCsvLines = readFileSync(csvPath, "utf8").trim().split("\r\n").length;
    result.invoiceLines = await page.getByTestId("invoice-line").count();
    result.emptyAfter = await page.getByTestId("csv-empty").count();
    result.ok = true;
  },

  /** An admin changes a user's role on the Users tab; screenshots of every admin tab. */
  async admin(ctx, page) {
    await signIn(page, params.username, params.password);
    await page.goto(`${BASE}/admin`);
    await page.getByRole("heading", { name: "Administration" }).waitFor();
    await page.waitForFunction(() => !document.querySelector("[data-ok=pending]"), null, { timeout: 20_000 }).catch(() => {});
    result.health = await page.$$eval("[data-testid^=health-]", (cards) => Object.fromEntries(cards.map((c) => [c.getAttribute("data-testid").slice(7), c.getAttribute("data-ok")])));
    await shot(page, "08-admin-health");
    await page.getByRole("link", { name: "Users" }).click();
    const select = page.getByLabel(`Role of ${params.target}`);
    await select.waitFor({ timeout: 20_000 });
    const before = await select.inputValue();
    await select.selectOption({ label: params.newRoleLabel ?? "Admin" });
    // A role change ends the account's sessions: the page asks first (issue #21).
    const dialog = page.getByTestId("confirm-dialog");
    await dialog.getByRole("button", { name: "Change role" }).click();
    await dialog.waitFor({ state: "hidden", timeout: 20_000 });
    await page.waitForFunction(
      ([name, before]) => document.querySelector(`[aria-label="Role of ${name}"]`)?.value !== before,
      [params.target, before],
      { timeout: 20_000 },
    );
    result.roleBefore = before;
    result.roleAfter = await page.getByLabel(`Role of ${params.target}`).inputValue();
    await shot(page, "08-admin-users");
    await page.getByRole("link", { name: "Grid" }).click();
    await page.waitForTimeout(5000);
    await settle(page);
    await shot(page, "08-admin-grid");
    await phoneShot(page, "08-admin-grid-phone");
    await page.getByRole("link", { name: "Dead letters" }).click();
    await settle(page);
    await shot(page, "08-admin-dead-letters");
    await page.setViewportSize(PHONE);
    await page.getByRole("link", { name: "Users" }).click().catch(() => {});
    await page.goto(`${BASE}/admin/users`);
    await settle(page);
    await shot(page, "08-admin-users-phone", false);
    result.ok = result.roleAfter !== before;
  },
};

async function main() {
  const scenario = scenarios[args.scenario];
  if (!scenario) throw new Error(`unknown scenario "${args.scenario}"; one of ${Object.keys(scenarios).join(", ")}`);
  await withChromium(args.chromium, async (browser) => {
    const ctx = await pinEnglish(await browser.newContext(CONTEXT_OPTIONS));
    const page = await ctx.newPage();
    page.setDefaultTimeout(20_000);
    page.on("console", (msg) => {
      if (msg.type() === "error") result.consoleErrors.push(msg.text().slice(0, 300));
    });
    page.on("pageerror", (err) => result.consoleErrors.push(`pageerror: ${String(err).slice(0, 300)}`));
    try {
      await scenario(ctx, page);
    } catch (error) {
      result.error = String(error?.stack ?? error).slice(0, 2000);
      await shot(page, `failure-${args.scenario}`).catch(() => {});
    }
  });
}

main()
  .catch((error) => {
    result.error = String(error?.stack ?? error);
  })
  .finally(() => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  });
