// @vitest-environment jsdom
/** A first visit shows the sign-in page without waiting for a refresh call that cannot succeed. */
import { afterEach, describe, expect, it, vi } from "vitest";

import { getSession, SESSION_HINT_KEY, setSignedOut } from "@/lib/session";

import { restoreSession } from "./restore-session";

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("restoreSession", () => {
  it("signs out at once in a browser that never signed in (no request)", async () => {
    const fetch = vi.fn(() => Promise.reject(new Error("no request expected")));
    vi.stubGlobal("fetch", fetch);
    await restoreSession();
    expect(fetch).not.toHaveBeenCalled();
    expect(getSession().status).toBe("signed-out");
  });

  it("tries the refresh cookie where this browser signed in, and forgets the hint when it fails", async () => {
    localStorage.setItem(SESSION_HINT_KEY, "1");
    const fetch = vi.fn(() => Promise.resolve(new Response("{}", { status: 401 })));
    vi.stubGlobal("fetch", fetch);
    await restoreSession();
    expect(fetch).toHaveBeenCalled();
    expect(getSession().status).toBe("signed-out");
    expect(localStorage.getItem(SESSION_HINT_KEY)).toBeNull();
  });

  it("is cleared by signing out", () => {
    localStorage.setItem(SESSION_HINT_KEY, "1");
    setSignedOut();
    expect(localStorage.getItem(SESSION_HINT_KEY)).toBeNull();
  });
});
