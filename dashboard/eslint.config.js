// ESLint (flat config): typescript-eslint strict + stylistic type-checked for src/, React hooks
// rules, and the layout's import boundaries (STYLE.md, bulletproof-react): features never import
// each other; shared code (components, lib, config, gen) never imports features or the app; only
// app/ composes features. import-boundaries.test.ts lints fixtures against these zones so the rule
// cannot silently stop matching.
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

const root = fileURLToPath(new URL(".", import.meta.url));
const features = readdirSync(new URL("./src/features", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** The `import-x/no-restricted-paths` zones: one per feature, plus shared -> features/app. */
const boundaryZones = [
  ...features.map((feature) => ({
    target: `./src/features/${feature}`,
    from: "./src/features",
    except: [`./${feature}`],
    message: "Features never import each other: move the shared code to lib/ or components/, or compose in app/.",
  })),
  {
    target: ["./src/components", "./src/lib", "./src/config", "./src/gen"],
    from: ["./src/features", "./src/app"],
    message: "Shared code (components, lib, config, gen) never imports features or the app.",
  },
  {
    target: "./src/features",
    from: "./src/app",
    message: "Features never import the app: the app composes features, not the other way round.",
  },
];

export default defineConfig(
  { ignores: ["dist/", "node_modules/", "src/gen/"] },
  {
    files: ["**/*.{js,mjs}"],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // The browser scenarios pass callbacks that run inside the page (document, getComputedStyle).
    files: ["e2e/**/*.mjs"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ["src/**/*.{ts,tsx}", "vite.config.ts", "import-boundaries.test.ts"],
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    rules: {
      // Template literals with numbers and bigints (heights, counts) are the norm in this UI.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      // `void promise` marks a deliberately detached call (refetch from an onClick).
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      // proto3 leaves an absent string as "", so `text || fallback` is the intended fallback.
      "@typescript-eslint/prefer-nullish-coalescing": ["error", { ignorePrimitives: { string: true } }],
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks, "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: `${root}tsconfig.app.json` })],
    },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "import-x/no-restricted-paths": ["error", { basePath: root, zones: boundaryZones }],
      "import-x/no-duplicates": "error",
    },
  },
  {
    // Tests: a wrong non-null assertion fails the test that made it, and stub ports are no-ops.
    files: ["**/*.test.{ts,tsx}"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-empty-function": "off",
    },
  },
);
