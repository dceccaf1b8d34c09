/// <reference types="vitest/config" />
import { fileURLToPath, URL } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv, type Plugin } from "vite";

// src/lib/i18n/<file>.ts: each locale's (src/config/env.ts SUPPORTED_LOCALES) catalogue part
// that a page needs before signing in.
const CATALOGUE_FILES: Record<string, string> = { "en-GB": "en-start", "nb-NO": "nb-start" };

/**
 * The catalogues are loaded on demand (src/lib/i18n/index.ts); the start part of the build's
 * default locale's is preloaded beside the entry script, so a first visit in that language waits
 * for no second round trip before the first render. A browser that chose the other language
 * fetches that one instead.
 */
function preloadDefaultCatalogue(locale: string): Plugin {
  let base = "/";
  return {
    name: "ep-preload-default-catalogue",
    apply: "build",
    configResolved(config) {
      base = config.base;
    },
    transformIndexHtml: {
      order: "post",
      handler(html, ctx) {
        const file = CATALOGUE_FILES[locale];
        const bundle = ctx.bundle;
        if (!file || !bundle) return []; // an unsupported default: the page says so at start-up
        const chunk = Object.values(bundle).find((c) => c.type === "chunk" && c.facadeModuleId?.endsWith(`/src/lib/i18n/${file}.ts`));
        if (chunk?.type !== "chunk") throw new Error(`no chunk for the ${locale} catalogue (src/lib/i18n/${file}.ts)`);
        // The catalogue and the chunks it imports that the entry does not already preload.
        const files = new Set<string>();
        const add = (name: string) => {
          const c = bundle[name];
          if (files.has(name) || c.type !== "chunk") return;
          files.add(name);
          c.imports.forEach(add);
        };
        add(chunk.fileName);
        return [...files]
          .filter((name) => !html.includes(`${base}${name}"`))
          .map((name) => ({ tag: "link", attrs: { rel: "modulepreload", crossorigin: true, href: `${base}${name}` }, injectTo: "head" as const }));
      },
    },
  };
}

// The built app is served by `vite preview` behind Envoy (same origin as /api); during `vite dev`
// the API is proxied to the local edge so the app still uses relative /api URLs.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), "EP_");
  const edge = env.EP_EDGE_URL || process.env.EP_EDGE_URL || "http://127.0.0.1:8080";
  // The same default as src/config/env.ts: VITE_LOCALE, else the installation's VITE_EP_LOCALE.
  const viteEnv = loadEnv(mode, process.cwd(), "VITE_");
  const setting = (key: string) => (key in viteEnv ? viteEnv[key].trim() : "");
  const defaultLocale = setting("VITE_LOCALE") || setting("VITE_EP_LOCALE") || "en-GB";
  return {
    plugins: [react(), tailwindcss(), preloadDefaultCatalogue(defaultLocale)],
    resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
    server: {
      proxy: { "/api": { target: edge, changeOrigin: false } },
    },
    // `vite preview` serves the built files in the local run (behind Envoy, which sets the same
    // headers: envoy/edge_policy.py SECURITY_HEADERS); repeated here for a direct visit.
    preview: {
      headers: {
        "Content-Security-Policy":
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      },
    },
    build: {
      outDir: "dist",
      sourcemap: false,
      chunkSizeWarningLimit: 600,
      rollupOptions: {
        output: {
          // Stable vendor chunks cache across deploys of the app code.
          manualChunks: {
            react: ["react", "react-dom", "react-dom/client", "react-router"],
            query: ["@tanstack/react-query"],
            uplot: ["uplot"],
            protobuf: ["@bufbuild/protobuf"],
          },
        },
      },
    },
    test: {
      environment: "node",
      include: ["src/**/*.test.ts", "src/**/*.test.tsx", "import-boundaries.test.ts"],
      // The tests pin en-GB (the catalogue's reference language): src/test/setup-locale.ts.
      setupFiles: ["src/test/setup-locale.ts"],
    },
  };
});
