/**
 * The one-locale rule, enforced on the source: no component or module formats a number or a date
 * itself (toLocaleString, toLocaleDateString/TimeString, toFixed, toPrecision, Intl.*); they call
 * src/lib/format.ts, which reads VITE_LOCALE. A new call elsewhere fails here with its file:line.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..");
const FORBIDDEN = /\.toLocale(?:String|DateString|TimeString)\(|\.toFixed\(|\.toPrecision\(|\bIntl\./;

// Files allowed to use Intl, each for a reason that is not display formatting.
const ALLOWED: Record<string, string> = {
  "lib/format.ts": "the one formatting module",
  "lib/time-zone.ts": "calendar arithmetic: en-US numeric parts of a zone's wall clock, never shown",
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "gen" ? [] : sources(path);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path] : [];
  });
}

/** "file:line: code" of every formatting call outside the allowed files. */
export function offenders(files: string[], read: (path: string) => string = (p) => readFileSync(p, "utf8")): string[] {
  return files.flatMap((file) => {
    const rel = relative(SRC, file).replaceAll("\\", "/");
    if (rel in ALLOWED) return [];
    return read(file)
      .split("\n")
      .flatMap((line, i) => (FORBIDDEN.test(line) && !/^\s*(\/\/|\*)/.test(line) ? [`${rel}:${String(i + 1)}: ${line.trim()}`] : []));
  });
}

describe("number and date formatting goes through lib/format.ts", () => {
  it("finds the source files (the scan is not vacuous)", () => {
    const files = sources(SRC).map((f) => relative(SRC, f));
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain("features/home/components/home-page.tsx");
  });

  it("finds no toLocaleString/toFixed/Intl outside the module", () => {
    expect(offenders(sources(SRC))).toEqual([]);
  });

  it("would catch a component formatting on its own", () => {
    const fake = join(SRC, "features/home/components/fake.tsx");
    const code = "export const A = ({ v }: { v: number }) => <b>{v.toFixed(1)}</b>;\nconst d = new Date().toLocaleDateString();\nconst f = new Intl.NumberFormat('de-DE');\n";
    expect(offenders([fake], () => code)).toEqual([
      "features/home/components/fake.tsx:1: export const A = ({ v }: { v: number }) => <b>{v.toFixed(1)}</b>;",
      "features/home/components/fake.tsx:2: const d = new Date().toLocaleDateString();",
      "features/home/components/fake.tsx:3: const f = new Intl.NumberFormat('de-DE');",
    ]);
  });
});
