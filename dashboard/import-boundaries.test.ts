/**
 * The import boundaries of eslint.config.js, proved on fixtures linted with the real config: a
 * rule whose zones stopped matching (a renamed folder, a resolver that no longer resolves "@/")
 * would pass every file silently, so each zone must still report a violation here.
 */
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { beforeAll, describe, expect, it } from "vitest";

// The fixtures are not on disk, so they are linted without type information (the type-checked
// rules need a file in the TypeScript project); the boundary rule needs only the resolver.
const eslint = new ESLint({ cwd: import.meta.dirname, overrideConfig: [{ files: ["src/**"], ...tseslint.configs.disableTypeChecked }] });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const results = await eslint.lintText(code, { filePath });
  return results.flatMap((r) => r.messages).filter((m) => m.ruleId === "import-x/no-restricted-paths").map((m) => m.message);
}

describe("import boundaries", () => {
  // The first lintText loads the whole config, its plugins and the resolver: tens of seconds on a
  // loaded 2-core machine. Pay it once here, under its own generous timeout, so no test's default
  // timeout has to absorb it.
  beforeAll(async () => {
    await eslint.lintText("export {};\n", { filePath: "src/lib/warm-up-fixture.ts" });
  }, 180_000);

  it("keep a feature from importing another feature, by alias or by relative path", async () => {
    const file = "src/features/home/components/boundary-fixture.ts";
    expect(await boundaryErrors(file, 'export { getBlock } from "@/features/ledger/api/get-block";\n')).toEqual([
      expect.stringContaining("Features never import each other"),
    ]);
    expect(await boundaryErrors(file, 'export { getBlock } from "../../ledger/api/get-block";\n')).toHaveLength(1);
  });

  it("let a feature import its own modules and shared code", async () => {
    const code = 'export { getAccuracy } from "../api/get-accuracy";\nexport { cn } from "@/lib/cn";\nexport { routes } from "@/gen/routes";\n';
    expect(await boundaryErrors("src/features/home/components/boundary-fixture.ts", code)).toEqual([]);
  });

  it("keep shared code (lib, components, config) from importing features or the app", async () => {
    expect(await boundaryErrors("src/lib/boundary-fixture.ts", 'export { getBlock } from "@/features/ledger/api/get-block";\n')).toEqual([
      expect.stringContaining("Shared code"),
    ]);
    expect(await boundaryErrors("src/components/ui/boundary-fixture.ts", 'export { router } from "@/app/router";\n')).toHaveLength(1);
    expect(await boundaryErrors("src/config/boundary-fixture.ts", 'export { InvoicePage } from "../features/invoices/components/invoice-page";\n')).toHaveLength(1);
  });

  it("keep features from importing the app, and let the app compose features", async () => {
    expect(await boundaryErrors("src/features/admin/api/boundary-fixture.ts", 'export { router } from "@/app/router";\n')).toEqual([
      expect.stringContaining("Features never import the app"),
    ]);
    expect(await boundaryErrors("src/app/boundary-fixture.ts", 'export { LedgerPage } from "@/features/ledger/components/ledger-page";\n')).toEqual([]);
  });
});
