/// <reference types="vitest/config" />
import { fileURLToPath, URL } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv } from "vite";

// The built app is served by `vite preview` behind Envoy (same origin as /api); during `vite dev`
// the API is proxied to the local edge so the app still uses relative /api URLs.
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), "EP_");
  const edge = env.EP_EDGE_URL || process.env.EP_EDGE_URL || "http://127.0.0.1:8080";
  return {
    plugins: [react(), tailwindcss()],
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
