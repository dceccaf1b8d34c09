// @vitest-environment jsdom
/** Which locale a page starts in, and that a switch is remembered and reaches <html lang>. */
import { afterEach, describe, expect, it, vi } from "vitest";

import { initEnv } from "@/config/env";

afterEach(() => {
  localStorage.clear();
  initEnv({});
  vi.resetModules();
});

async function freshLocale() {
  vi.resetModules(); // the module keeps the page's locale once read: start from a new page
  return import("./locale");
}

describe("the page's locale", () => {
  it("starts in the build's default: the installation's (VITE_EP_LOCALE), VITE_LOCALE over it", async () => {
    const { parseEnv } = await import("@/config/env");
    expect(parseEnv({}).locale).toBe("en-GB");
    expect(parseEnv({ VITE_EP_LOCALE: "nb-NO" }).locale).toBe("nb-NO");
    expect(parseEnv({ VITE_EP_LOCALE: "nb-NO", VITE_LOCALE: "en-GB" }).locale).toBe("en-GB");
    vi.resetModules();
    (await import("@/config/env")).initEnv({ VITE_EP_LOCALE: "nb-NO" }); // the instance ./locale will read
    const { currentLocale } = await import("./locale");
    expect(currentLocale()).toBe("nb-NO");
    expect(document.documentElement.lang).toBe("nb");
  });

  it("prefers this browser's choice, and remembers a switch", async () => {
    localStorage.setItem("energypulse.locale", "nb-NO");
    let mod = await freshLocale();
    expect(mod.currentLocale()).toBe("nb-NO");
    const seen: string[] = [];
    mod.subscribeLocale(() => seen.push(mod.currentLocale()));
    mod.setLocale("en-GB");
    expect(seen).toEqual(["en-GB"]);
    expect(document.documentElement.lang).toBe("en");
    expect(localStorage.getItem("energypulse.locale")).toBe("en-GB");
    mod = await freshLocale();
    expect(mod.currentLocale()).toBe("en-GB");
  });

  it("ignores a stored value it has no catalogue for", async () => {
    localStorage.setItem("energypulse.locale", "de-DE");
    const { currentLocale } = await freshLocale();
    expect(currentLocale()).toBe("en-GB");
  });
});
