// Debian's Chromium driven by playwright-core (a browser download does not work here), with every
// console error and page error recorded so that a test can fail on them.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const ARTIFACTS = new URL("../test-results/", import.meta.url).pathname;
const AXE = require.resolve("axe-core/axe.min.js");

export async function openBrowser() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "reefline-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const problems = [];
  let expectOffline = false;
  const watch = (page) => {
    page.on("console", (message) => {
      if (message.type() === "error" && !(expectOffline && /ERR_INTERNET_DISCONNECTED|Failed to fetch|net::/.test(message.text()))) {
        problems.push(`console error on ${page.url()}: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
  };
  context.on("page", watch);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  return {
    context,
    page,
    problems,
    setExpectOffline(value) {
      expectOffline = value;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibilityProblems(page) {
  // Evaluated over CDP, not as a <script>: the app's CSP (script-src 'self') stays as it is.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(readFileSync(AXE, "utf8"));
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const found = await axe.run(document, { resultTypes: ["violations"] });
    return found.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
  return result;
}
