import { describe, expect, it } from "vitest";

import { EnvError, parseEnv } from "./env";

describe("parseEnv", () => {
  it("defaults to the same origin, NO1 and a 15 s backoff ceiling", () => {
    expect(parseEnv({})).toEqual({ apiBaseUrl: "", defaultZone: "NO1", streamMaxBackoffMs: 15000 });
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
  ])("rejects %o naming the variable", (raw, message) => {
    expect(() => parseEnv(raw)).toThrow(EnvError);
    expect(() => parseEnv(raw)).toThrow(message);
  });
});
