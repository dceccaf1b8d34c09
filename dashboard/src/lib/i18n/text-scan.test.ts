/**
 * The one-catalogue rule for text, enforced on the source like format-scan.test.ts does for
 * numbers: no component writes user-visible English itself (JSX text, or a literal aria-label,
 * title, placeholder, alt, label, description, caption or hint); it takes the words from
 * lib/i18n (useT / messages), so both languages have every string. A new literal fails here with
 * its file:line.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..", "..");

// Literals that are the same in every language: names, units, symbols.
const ALLOWED_TEXT = new Set(["EnergyPulse", "CSV", "JSON", "kWh", "kW", "c/kWh", "øre/kWh", "404", "P10", "P50", "P90", "SHA-256", "Ed25519", "0 ms", "https://…"]);

// Not yet through the catalogue (issue #21): none left. A file that cannot take its words from the
// catalogue yet goes here, and reads English in nb-NO until it is done; the scan then guards it.
const NOT_YET: ReadonlySet<string> = new Set<string>([]);

const ATTRIBUTE = /\b(aria-label|title|placeholder|alt|label|description|caption|hint)="([^"]*)"/g;
// Text between a tag's ">" and the next "<": not "=>" (an arrow), not code (no ; ( ) = &&).
const JSX_TEXT = /(?<![=-])>([^<>{}]*)</g;

function words(text: string): boolean {
  const t = text.trim();
  return /\p{L}{2,}/u.test(t) && !ALLOWED_TEXT.has(t) && !/[;=()]|&&|\|\|/.test(t);
}

function components(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "gen" ? [] : components(path);
    return e.name.endsWith(".tsx") && !e.name.endsWith(".test.tsx") ? [path] : [];
  });
}

/** "file:line: text" of every user-visible literal outside the catalogue. */
export function literals(files: string[], read: (path: string) => string = (p) => readFileSync(p, "utf8"), skip: ReadonlySet<string> = NOT_YET): string[] {
  return files.flatMap((file) => {
    const rel = relative(SRC, file).replaceAll("\\", "/");
    if (skip.has(rel)) return [];
    const source = read(file);
    const lineOf = (index: number) => source.slice(0, index).split("\n").length;
    const found: string[] = [];
    for (const m of source.matchAll(ATTRIBUTE)) if (words(m[2] ?? "")) found.push(`${rel}:${String(lineOf(m.index))}: ${m[1] ?? ""}="${m[2] ?? ""}"`);
    for (const m of source.matchAll(JSX_TEXT)) {
      const text = m[1] ?? "";
      const line = source.split("\n")[lineOf(m.index) - 1] ?? "";
      if (words(text) && !/^\s*(\/\/|\*|\/\*)/.test(line)) found.push(`${rel}:${String(lineOf(m.index + 1))}: ${text.trim().slice(0, 60)}`);
    }
    return found;
  });
}

describe("user-visible text goes through lib/i18n", () => {
  it("finds the components (the scan is not vacuous)", () => {
    const files = components(SRC).map((f) => relative(SRC, f));
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain("features/home/components/home-page.tsx");
  });

  it("finds no English literal in a component", () => {
    expect(literals(components(SRC))).toEqual([]);
  });

  it("lists only files that still have literals as not yet done", () => {
    const done = [...NOT_YET].filter((rel) => literals([join(SRC, rel)], undefined, new Set()).length === 0);
    expect(done).toEqual([]); // an entry whose file is clean is out of date: remove it
  });

  it("would catch a literal text, a literal aria-label, and let names and units through", () => {
    const fake = join(SRC, "features/home/components/fake.tsx");
    const code = [
      'export const A = () => <p title="Your price">Cheapest hours</p>;',
      "export const B = ({ v }: { v: string }) => <b aria-label={v}>{v} kWh</b>;",
      "const f = (x: number) => x > 1 && x < 3;",
      "export const C = () => <span>EnergyPulse</span>;",
    ].join("\n");
    expect(literals([fake], () => code)).toEqual(['features/home/components/fake.tsx:1: title="Your price"', "features/home/components/fake.tsx:1: Cheapest hours"]);
  });
});
