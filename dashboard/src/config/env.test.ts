import { describe, expect, it } from "vitest";

import { EnvError, parseEnv } from "./env";

describe("parseEnv", () => {
  it("defaults to the same origin, NO1, a 15 s backoff ceiling and en-GB", () => {
    expect(parseEnv({})).toEqual({
      apiBaseUrl: "",
      defaultZone: "NO1",
      streamMaxBackoffMs: 15000,
      ledgerVerifierKey: "",
      witnessVerifierKey: "",
      witnessUrl: "",
      locale: "en-GB",
    });
  });

  it("takes the locale from VITE_LOCALE", () => {
    expect(parseEnv({ VITE_LOCALE: "nb-NO" }).locale).toBe("nb-NO");
  });

  it("takes the pinned ledger and witness keys from the build", () => {
    const parsed = parseEnv({
      VITE_EP_LEDGER_VERIFIER_KEY: "energypulse.local/ledger+7fc84102+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
      VITE_EP_WITNESS_URL: "http://127.0.0.1:50060/",
    });
    expect(parsed.ledgerVerifierKey).toMatch(/^energypulse.local\/ledger\+7fc84102\+/);
    expect(parsed.witnessUrl).toBe("http://127.0.0.1:50060");
  });

  it("accepts a path or an http(s) base URL and strips trailing slashes", () => {
    expect(parseEnv({ VITE_API_BASE_URL: "https://edge.example/" }).apiBaseUrl).toBe("https://edge.example");
    expect(parseEnv({ VITE_API_BASE_URL: "/proxy/" }).apiBaseUrl).toBe("/proxy");
  });

  it.each([
    [{ VITE_API_BASE_URL: "ftp://x" }, /VITE_API_BASE_URL/],
    [{ VITE_DEFAULT_ZONE: "no 1" }, /VITE_DEFAULT_ZONE/],
    [{ VITE_STREAM_MAX_BACKOFF_MS: "fast" }, /VITE_STREAM_MAX_BACKOFF_MS/],
    [{ VITE_STREAM_MAX_BACKOFF_MS: "10" }, /VITE_STREAM_MAX_BACKOFF_MS/],
    [{ VITE_EP_LEDGER_VERIFIER_KEY: "AQOhB7/zzhC+HXDd" }, /VITE_EP_LEDGER_VERIFIER_KEY/],
    [{ VITE_EP_WITNESS_URL: "ftp://w" }, /VITE_EP_WITNESS_URL/],
    [{ VITE_LOCALE: "de-DE" }, /VITE_LOCALE must be one of en-GB, nb-NO/],
  ])("rejects %o naming the variable", (raw, message) => {
    expect(() => parseEnv(raw)).toThrow(EnvError);
    expect(() => parseEnv(raw)).toThrow(message);
  });
});
