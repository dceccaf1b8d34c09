/**
 * Every error reason a route can return has the user's words in both languages. The list comes
 * from the registry (energypulse.errors.v1.ErrorReason, generated into gen/ and into
 * docs/error-reasons.md), not from this file: a reason added to the proto fails here (and in tsc)
 * until both catalogues word it. All reasons, not only those of the dashboard's routes: the
 * contract does not say which reasons an RPC can return, and the shared ones (auth, paging, the
 * edge) reach every route anyway.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { ErrorReason } from "@/gen/energypulse/errors/v1/error_reason_pb";

import { CATALOGUES } from "@/test/catalogues";

const REGISTERED = Object.keys(ErrorReason)
  .filter((k) => Number.isNaN(Number(k)) && k !== "ERROR_REASON_UNSPECIFIED")
  .sort();
const DOC = readFileSync(join(import.meta.dirname, "..", "..", "..", "..", "docs", "error-reasons.md"), "utf8");

describe("error reasons in the catalogue", () => {
  it("reads the registry (the list is not empty, and is the one docs/error-reasons.md lists)", () => {
    expect(REGISTERED.length).toBeGreaterThan(100);
    expect(REGISTERED).toContain("INVALID_CREDENTIALS");
    const documented = [...DOC.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(REGISTERED);
  });

  for (const [locale, t] of Object.entries(CATALOGUES)) {
    it(`words every registered reason in ${locale}, and nothing else`, () => {
      const texts = t.reasons as Readonly<Record<string, string>>;
      expect(REGISTERED.filter((r) => !texts[r]?.trim())).toEqual([]);
      expect(Object.keys(texts).filter((r) => !REGISTERED.includes(r))).toEqual([]);
    });

    it(`words the fields at fault only for registered reasons, every one in ${locale}`, () => {
      const tables: Readonly<Record<string, Readonly<Record<string, string>>>> = t.reasonFields;
      for (const [reason, fields] of Object.entries(tables)) {
        expect(REGISTERED).toContain(reason);
        expect(Object.entries(fields).filter(([, text]) => !text.trim())).toEqual([]);
      }
    });

    it(`says it in words a household reads in ${locale}: no codes, settings or field names`, () => {
      const tables: Readonly<Record<string, Readonly<Record<string, string>>>> = t.reasonFields;
      const all = [...Object.entries(t.reasons), ...Object.values(tables).flatMap((fields) => Object.entries(fields))];
      const jargon = all.filter(([, text]) => /\b[A-Z]+_[A-Z_]+\b|\bEP_|[a-z]+_[a-z]+|\b(RPC|gRPC|JWT|token)\b/.test(text));
      expect(jargon).toEqual([]);
    });
  }

  it("has Norwegian words for every reason, not the English copied over", () => {
    const en = CATALOGUES["en-GB"].reasons;
    const nb = CATALOGUES["nb-NO"].reasons;
    expect(Object.keys(en).filter((r) => en[r as keyof typeof en] === nb[r as keyof typeof nb])).toEqual([]);
  });
});
