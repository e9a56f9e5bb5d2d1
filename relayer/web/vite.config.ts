// Vite builds the app into dist/ (served by `chimera ui`); JSX goes through
// Vite's own esbuild with Preact's runtime (no framework plugin). Vitest runs
// the unit tests in Node.
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  // CosmJS (about 1 MB, loaded only when the Ask page signs) is its own chunk.
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false, chunkSizeWarningLimit: 1200 },
  server: { proxy: { "/api": "http://127.0.0.1:8090" } },
  test: { environment: "node", include: ["tests/unit/**/*.test.ts"] },
});
