/**
 * The catalogues load on demand (issue #21: a first visit downloads one language, and of it only
 * what a page shows before signing in): a fresh page has none until main.tsx loads its start
 * part, the signed-in shell loads the rest, and a switch loads the other language before it
 * applies, so messages() and useT() never answer with a missing part or the wrong language.
 */
import { afterEach, describe, expect, it, vi } from "vitest";

import { initEnv } from "@/config/env";

afterEach(() => {
  initEnv({});
  vi.resetModules();
});

async function freshPage() {
  vi.resetModules(); // a new page: no catalogue loaded, the locale not yet read
  const [i18n, locale] = await Promise.all([import("./index"), import("./locale")]);
  return { ...i18n, setLocale: locale.setLocale, subscribeLocale: locale.subscribeLocale };
}

describe("the catalogue loader", () => {
  it("has no catalogue on a fresh page until the page's own start part is loaded", async () => {
    const page = await freshPage();
    expect(page.hasCatalogue("en-GB")).toBe(false);
    expect(() => page.messages()).toThrow(/not loaded/);
    await page.loadCatalogue(page.currentLocale(), "start");
    expect(page.messages().auth.signIn).toBe("Sign in");
    expect(page.messages().shell.resuming).toBeTypeOf("string");
    expect(page.hasCatalogue("en-GB", "all")).toBe(false);
    expect(() => page.messages().home).toThrow(/"home" is in the pages part/);
    expect(page.hasCatalogue("nb-NO")).toBe(false); // the other language stays on the server
  });

  it("adds the signed-in pages' words when the rest is loaded", async () => {
    const page = await freshPage();
    await page.loadCatalogue("en-GB", "start");
    const whole = await page.wholeCatalogue("en-GB");
    expect(page.wholeCatalogue("en-GB")).toBe(page.wholeCatalogue("en-GB")); // one promise for use()
    expect(page.hasCatalogue("en-GB", "all")).toBe(true);
    expect(page.messages()).toBe(whole);
    expect(page.messages().auth.signIn).toBe("Sign in");
    expect(Object.keys(page.messages()).sort()).toEqual(Object.keys((await import("./en")).en).sort());
  });

  it("loads the other language before switching to it, as much of it as the page has", async () => {
    const page = await freshPage();
    await page.loadCatalogue("en-GB", "start");
    const seen: string[] = [];
    page.subscribeLocale(() => seen.push(page.messages().auth.signIn));
    const switching = page.switchLocale("nb-NO", false);
    expect(page.currentLocale()).toBe("en-GB"); // not before the catalogue is here
    expect(page.messages().auth.signIn).toBe("Sign in");
    await switching;
    expect(page.currentLocale()).toBe("nb-NO");
    expect(seen).toEqual(["Logg inn"]); // the first render after the switch already has the words
    expect(page.hasCatalogue("nb-NO", "all")).toBe(false); // a signed-out page: the start part only

    await page.loadCatalogue("nb-NO");
    await page.switchLocale("en-GB", false); // signed in: the whole of the other language
    expect(page.hasCatalogue("en-GB", "all")).toBe(true);
  });

  it("fetches each part once", async () => {
    const page = await freshPage();
    const [a, b] = await Promise.all([page.loadCatalogue("nb-NO"), page.loadCatalogue("nb-NO")]);
    expect(a).toBe(b);
    expect(await page.loadCatalogue("nb-NO")).toBe(a);
  });

  it("starts in the build's default when nothing is stored, and loads that one", async () => {
    vi.resetModules();
    (await import("@/config/env")).initEnv({ VITE_EP_LOCALE: "nb-NO" }); // the instance ./locale reads
    const page = await import("./index");
    await page.loadCatalogue(page.currentLocale(), "start");
    expect(page.messages().auth.signIn).toBe("Logg inn");
    expect(page.hasCatalogue("en-GB")).toBe(false);
  });
});
