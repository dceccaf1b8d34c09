/**
 * The catalogues load on demand (issue #21: a first visit downloads one language): a fresh page
 * has none until main.tsx loads its own, and a switch loads the other language before it applies,
 * so messages() and useT() never answer with a missing catalogue or the wrong language.
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
  return { ...i18n, setLocale: locale.setLocale };
}

describe("the catalogue loader", () => {
  it("has no catalogue on a fresh page until the page's own is loaded", async () => {
    const page = await freshPage();
    expect(page.hasCatalogue("en-GB")).toBe(false);
    expect(() => page.messages()).toThrow(/not loaded/);
    const en = await page.loadCatalogue(page.currentLocale());
    expect(page.messages()).toBe(en);
    expect(page.messages().auth.signIn).toBe("Sign in");
    expect(page.hasCatalogue("nb-NO")).toBe(false); // the other language stays on the server
  });

  it("loads the other language before switching to it", async () => {
    const page = await freshPage();
    await page.loadCatalogue("en-GB");
    const seen: string[] = [];
    const { subscribeLocale } = await import("./locale");
    subscribeLocale(() => seen.push(page.messages().auth.signIn));
    const switching = page.switchLocale("nb-NO", false);
    expect(page.currentLocale()).toBe("en-GB"); // not before the catalogue is here
    expect(page.messages().auth.signIn).toBe("Sign in");
    await switching;
    expect(page.currentLocale()).toBe("nb-NO");
    expect(seen).toEqual(["Logg inn"]); // the first render after the switch already has the words
  });

  it("fetches each catalogue once", async () => {
    const page = await freshPage();
    const [a, b] = await Promise.all([page.loadCatalogue("nb-NO"), page.loadCatalogue("nb-NO")]);
    expect(a).toBe(b);
    expect(await page.loadCatalogue("nb-NO")).toBe(a);
  });

  it("starts in the build's default when nothing is stored, and loads that one", async () => {
    vi.resetModules();
    (await import("@/config/env")).initEnv({ VITE_EP_LOCALE: "nb-NO" }); // the instance ./locale reads
    const page = await import("./index");
    await page.loadCatalogue(page.currentLocale());
    expect(page.messages().auth.signIn).toBe("Logg inn");
    expect(page.hasCatalogue("en-GB")).toBe(false);
  });
});
