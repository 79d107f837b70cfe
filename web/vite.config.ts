/// <reference types="vitest/config" />
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// Emits /sw.js from src/pwa/sw-template.js with this build's id and its list of files, so each
// new build installs a new service worker that caches exactly the new app shell.
function serviceWorker(): Plugin {
  return {
    name: "reefline-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((name) => !name.endsWith(".map")).sort();
      const publicFiles = ["manifest.webmanifest", "icons/icon-192.png", "icons/icon-512.png", "icons/maskable-192.png", "icons/maskable-512.png"];
      const all = [...files, ...publicFiles];
      const id = createHash("sha256").update(all.join("\n")).digest("hex").slice(0, 16);
      const template = readFileSync(new URL("./src/pwa/sw-template.js", import.meta.url), "utf8");
      const source = template.replace("__BUILD_ID__", id).replace("__BUILD_FILES__", JSON.stringify(all.filter((f) => f !== "index.html")));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

// The build goes into the Python package: `reefline server` serves it at / (server/webui.py).
export default defineConfig({
  plugins: [react(), serviceWorker()],
  build: {
    outDir: "../src/reefline/server/webui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8420" },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
  },
});
