// The web UI end to end, against a real server: the nine steps of issue 15, an accessibility scan
// and a screenshot of every page, and the figures (board render time, log memory, bundle size).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { accessibilityProblems, ARTIFACTS, openBrowser, screenshot } from "./browser.mjs";
import { apiSession, PASSWORD, startServer } from "./server.mjs";

const SPEC = readFileSync(new URL("./fixtures/flow.yaml", import.meta.url), "utf8");
const TYPO = SPEC.replace("from: prepare.data}", "from: prepare.dta}");
const TYPO_LINE = TYPO.split("\n").findIndex((l) => l.includes("prepare.dta")) + 1;
const figures = {};
let server;
let browser;
let page;

before(async () => {
  server = await startServer();
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(15_000);
});

after(async () => {
  writeFileSync(join(ARTIFACTS, "figures.json"), JSON.stringify(figures, null, 2) + "\n");
  console.log("figures:", JSON.stringify(figures));
  await browser?.close();
  await server?.stop();
});

async function check(name) {
  await screenshot(page, name);
  const violations = await accessibilityProblems(page);
  assert.deepEqual(violations, [], `accessibility on ${name}`);
  assert.deepEqual(browser.problems, [], `console on ${name}`);
}

async function setYaml(text) {
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
}

async function editorText() {
  // The pipeline is short enough for CodeMirror to render every line.
  return page.evaluate(() => [...document.querySelectorAll(".cm-content .cm-line")].map((l) => l.textContent).join("\n"));
}

const runIdOf = () => Number(/\/runs\/(\d+)/.exec(page.url())[1]);

test("issue 15: sign in, edit, save, run, logs, cancel, compare, PWA", async (t) => {
  const base = server.url;

  await t.test("1. sign in (and a team and a board through the UI)", async () => {
    await page.goto(base + "/");
    await page.waitForURL(/\/signin/);
    await check("01-sign-in");
    // keyboard only: the username field has focus, Tab goes to the password, Enter signs in
    await page.keyboard.type("alice");
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "You are in no team yet" }).waitFor();
    await page.getByLabel("Team name").fill("research");
    await page.getByRole("button", { name: "Create team" }).click();
    await page.getByRole("heading", { name: "Boards of research" }).waitFor();
    await page.getByLabel("New board").fill("ml");
    await page.getByRole("button", { name: "Create board" }).click();
    await page.getByRole("heading", { name: "ml" }).waitFor();
    await check("02-boards-empty");
  });

  await t.test("2. a pipeline with a typo: the diagnostic is at its line", async () => {
    await page.getByRole("link", { name: "New pipeline" }).click();
    await page.locator(".cm-content").waitFor();
    await setYaml(TYPO);
    const problem = page.locator(".diagnostics li", { hasText: "has no output 'dta'" });
    await problem.waitFor();
    assert.match(await problem.innerText(), new RegExp(`reefline\\.yaml:${TYPO_LINE}:\\d+`));
    const underlined = page.locator(".cm-lintRange-error");
    await underlined.first().waitFor();
    assert.equal(await underlined.first().innerText(), "dta", "the server's range: the output name");
    const lineOfRange = await underlined.first().evaluate((el) => [...document.querySelectorAll(".cm-content .cm-line")].indexOf(el.closest(".cm-line")) + 1);
    assert.equal(lineOfRange, TYPO_LINE);
    await underlined.first().hover();
    await page.locator(".cm-tooltip-lint", { hasText: "did you mean 'data'" }).waitFor();
    await page.keyboard.press("Escape");
    await check("03-editor-diagnostic");
  });

  await t.test("3. fix it in the graph view: the YAML changes, comments kept", async () => {
    await page.getByRole("tab", { name: "Graph" }).click();
    await page.locator(".react-flow__node-job").first().waitFor();
    await check("04-graph-editor");
    await page.getByRole("combobox", { name: "Output" }).selectOption("prepare.data");
    await page.getByLabel("to input (job.input)").fill("train.data");
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    await page.getByTestId("diagnostic-summary").filter({ hasText: "Valid." }).waitFor();
    await page.getByRole("tab", { name: "YAML" }).click();
    await page.locator(".cm-content").waitFor();
    const text = await editorText();
    assert.match(text, /from: prepare\.data/);
    for (const comment of TYPO.split("\n").filter((l) => l.trim().startsWith("#") || l.includes("# the rows"))) {
      assert.ok(text.includes(comment.trim()), `comment kept: ${comment}`);
    }
  });

  await t.test("4. save", async () => {
    await page.getByLabel("Board").selectOption("ml");
    await page.getByLabel("Message").fill("first version");
    await page.getByRole("button", { name: "Save revision" }).click();
    await page.getByText("Saved as revision 1.").waitFor();
    await page.waitForURL(/\/p\/flow$/);
    await page.getByRole("cell", { name: "first version" }).waitFor();
    // a second revision, its side-by-side diff, and a roll back to the first
    await page.locator(".cm-content").waitFor();
    await page.locator(".cm-line", { hasText: "# train reads what prepare wrote" }).click();
    await page.keyboard.press("End");
    await page.keyboard.insertText(" (revision 2)");
    await page.getByLabel("Message").fill("second version");
    await page.getByRole("button", { name: "Save revision" }).click();
    await page.getByText("Saved as revision 2.").waitFor();
    const diff = page.getByRole("table", { name: "Changes from revision 1 to 2" });
    await diff.locator("td.del", { hasText: "# train reads what prepare wrote" }).waitFor();
    await diff.locator("td.ins", { hasText: "(revision 2)" }).waitFor();
    await check("05-pipeline-history");
    await page.getByRole("button", { name: "Roll back to 1" }).click();
    await page.getByRole("cell", { name: "roll back to revision 1" }).waitFor();
    await page.locator(".cm-line", { hasText: "(revision 2)" }).waitFor({ state: "detached" });
    // hover docs from the language schema
    await page.locator(".cm-line", { hasText: /^stages:/ }).locator("text=stages").hover();
    await page.locator(".cm-schema-doc").waitFor();
    await page.mouse.move(0, 0);
  });

  let firstRun;
  await t.test("5-6. run, and watch the logs arrive live", async () => {
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    firstRun = runIdOf();
    await page.getByRole("button", { name: /^train/ }).click();
    const lines = page.locator(".log-line");
    await page.locator(".log-line", { hasText: "step 3" }).waitFor();
    const early = await page.locator(".log-tools .muted").innerText();
    await page.locator(".log-line", { hasText: "progress 100%" }).waitFor();
    assert.equal(await page.locator(".log-line", { hasText: /progress (10|50)%/ }).count(), 0, "a progress bar shows only its last state");
    const late = await page.locator(".log-tools .muted").innerText();
    assert.ok(Number.parseInt(late, 10) > Number.parseInt(early, 10), `lines grew while the job ran: ${early} -> ${late}`);
    const green = await page.locator(".log-line", { hasText: "step 3" }).locator("span[style*='color']").first().evaluate((el) => getComputedStyle(el).color);
    assert.equal(green, "rgb(61, 154, 61)");
    assert.ok((await lines.count()) > 0);
    await page.locator("h1 .state-success").waitFor({ timeout: 30_000 });
    await check("06-run-finished");
  });

  await t.test("lineage: a job's outputs downloaded, and traced as a graph", async () => {
    const download = page.getByRole("link", { name: "Download model" });
    await download.waitFor();
    const content = await page.request.get(base + (await download.getAttribute("href")));
    assert.equal(content.status(), 200);
    assert.equal(await content.text(), "rows\n", "the bytes train recorded");
    await page.getByRole("link", { name: "Trace model" }).click();
    await page.waitForURL(/\/runs\/\d+\/trace\?output=train\.model$/);
    await page.locator(".react-flow__node-job", { hasText: "#1 prepare" }).waitFor();
    assert.equal(await page.locator(".react-flow__node-job").count(), 2, "a node per frame: train and prepare");
    await page.locator(".react-flow__edge-text", { hasText: /^data [0-9a-f]{8}$/ }).waitFor();
    await check("06b-trace");
    await page.locator(".react-flow__node-job", { hasText: "#1 prepare" }).click();
    await page.waitForURL(new RegExp(`/runs/${firstRun}$`));
    await page.locator("h1 .state-success").waitFor();
    // reproduce it: a new run, nothing cached, whose outputs are compared with these
    await page.getByRole("button", { name: "Reproduce" }).click();
    await page.waitForURL((url) => /\/runs\/\d+$/.test(url.pathname) && runIdOf() !== firstRun);
    await page.locator("h1 .state-success").waitFor({ timeout: 30_000 });
    await page.getByTestId("reproduction-summary").filter({ hasText: "every output came out byte-identical" }).waitFor();
    await page.locator("td.verdict-identical").first().waitFor();
    await check("06c-reproduction");
  });

  let secondRun;
  await t.test("7. cancel a long job", async () => {
    await page.goto(`${base}/t/research/p/flow`);
    await page.getByRole("heading", { name: "Metrics across runs" }).waitFor();
    await page.locator("svg.plot", { hasText: "0.05" }).waitFor();
    await page.getByLabel(/^sleep/).fill("300");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForURL(/\/runs\/\d+$/);
    secondRun = runIdOf();
    await page.getByRole("button", { name: /^slow.*running/ }).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: /^train.*success/ }).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator("h1 .state-canceled").waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Retry run" }).waitFor();
    await check("07-run-canceled");
    // a retry runs the jobs that did not succeed again, in the same run: cancel it once more
    await page.getByRole("button", { name: "Retry run" }).click();
    await page.getByRole("button", { name: /^slow.*running/ }).waitFor({ timeout: 30_000 });
    assert.equal(runIdOf(), secondRun);
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.locator("h1 .state-canceled").waitFor({ timeout: 30_000 });
  });

  await t.test("8. compare two runs", async () => {
    await page.getByRole("link", { name: "Runs", exact: true }).click();
    await page.getByLabel("state").selectOption("canceled");
    await page.getByLabel(`Select run ${firstRun}`).waitFor({ state: "detached" });
    await page.getByLabel(`Select run ${secondRun}`).waitFor();
    await page.getByLabel("state").selectOption("");
    await page.getByLabel(`Select run ${firstRun}`).check();
    await page.getByLabel(`Select run ${secondRun}`).check();
    await check("08-runs");
    await page.getByRole("button", { name: /Compare 2 selected/ }).click();
    const params = page.getByTestId("params-table");
    await params.waitFor();
    assert.match(await params.innerText(), /sleep\s+—\s+"?300"?|sleep\s+0\s+"?300"?/);
    const metrics = page.getByTestId("metrics-table");
    assert.match(await metrics.innerText(), /accuracy\s+0\.05\s+0\.3005/);
    await params.locator("tr.differs", { hasText: "sleep" }).waitFor();
    // the server's comparison, plotted: a bar per run for the metric, and its history
    await page.locator("svg.bars g[data-metric='accuracy'] rect").nth(1).waitFor();
    await page.getByRole("heading", { name: "Metrics across runs" }).waitFor();
    await check("09-compare");
  });

  await t.test("team settings and account pages", async () => {
    await page.getByRole("link", { name: "Team" }).click();
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    await page.getByLabel("New role").fill("runner");
    await page.getByLabel("pipeline.run").check();
    await page.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("cell", { name: "runner", exact: true }).waitFor();
    await page.locator("#panel-secrets").waitFor();
    await page.getByLabel("Value").fill("s3cr3t-value");
    await page.getByLabel("Name", { exact: true }).last().fill("API_KEY");
    await page.getByRole("button", { name: "Save secret" }).click();
    await page.getByRole("cell", { name: "API_KEY", exact: true }).waitFor();
    assert.ok(!(await page.content()).includes("s3cr3t-value") || (await page.getByLabel("Value").inputValue()) === "", "a secret is not shown");
    await check("10-team-settings");
    await page.getByRole("link", { name: "Account" }).click();
    // The team page's secret form also has a "Name" field: fill the token's once the page changed.
    await page.getByRole("heading", { name: "API tokens" }).waitFor();
    await page.getByLabel("Name").fill("laptop");
    await page.getByRole("button", { name: "Create token" }).click();
    const secret = await page.getByTestId("new-token").innerText();
    assert.ok(secret.length > 20);
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByRole("button", { name: "Revoke token laptop" }).click();
    await page.getByRole("cell", { name: /^revoked/ }).waitFor();
    await check("11-account");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/signin/);
    assert.equal((await page.request.get(`${base}/api/me`)).status(), 401, "the session ended on the server");
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Boards of research" }).waitFor();
  });

  await t.test("phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/runs/${firstRun}`);
    await page.locator("h1 .state-success").waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `no sideways scrolling at phone width (${overflow}px)`);
    await check("13-run-phone");
    await page.goto(`${base}/t/research`);
    await page.getByRole("link", { name: "flow" }).waitFor();
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 1, "boards fit a phone");
    await check("13-boards-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await t.test("figures: a board of 50 pipelines, a 100,000-line log, the initial bundle", async () => {
    const api = await apiSession(base);
    await api.call("POST", "/api/teams", { name: "load" });
    await api.call("POST", "/api/teams/load/boards", { name: "fifty" });
    for (let i = 0; i < 50; i++) await api.push("load", `version: 1\nname: p${String(i).padStart(2, "0")}\njobs:\n  a:\n    script: echo ${i}\n`, "fifty");
    const longLog = await api.push("load", "version: 1\nname: long-log\njobs:\n  print:\n    script: \"seq -f 'line %g of a long log' 1 100000\"\n", "fifty");
    const run = await api.call("POST", "/api/teams/load/pipelines/long-log/runs", { params: {}, no_cache: false });
    await page.goto(`${base}/t/load`);
    // performance.now() counts from the navigation's start: this is the time to 50 rendered rows.
    const handle = await page.waitForFunction(() => document.querySelectorAll("table.pipelines tbody tr").length >= 51 && performance.now(), null, { polling: "raf" });
    figures.board_50_first_render_ms = Math.round(await handle.jsonValue());
    await screenshot(page, "14-board-50");

    await page.goto(`${base}/runs/${run.id}`);
    await page.locator("h1 .state-success").waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: /^print/ }).click();
    await page.waitForFunction(() => /^100000 lines/.test(document.querySelector(".log-tools .muted")?.textContent ?? ""), null, { timeout: 60_000 });
    await page.getByPlaceholder("Search log").fill("line 77777 of");
    await page.getByPlaceholder("Search log").press("Enter");
    await page.locator('.log-line.current[data-line="77777"]').waitFor();
    await page.getByPlaceholder("Search log").fill("");
    const rendered = await page.locator(".log-line").count();
    assert.ok(rendered < 200, `virtualised: ${rendered} rows in the DOM`);
    const frames = await page.evaluate(async () => {
      const box = document.querySelector(".log-lines");
      const times = [];
      let last = performance.now();
      for (let i = 0; i < 60; i++) {
        box.scrollTop = (box.scrollHeight * i) / 60;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      return times.sort((a, b) => a - b);
    });
    figures.log_100k_scroll_frame_ms_median = Math.round(frames[30] * 10) / 10;
    figures.log_100k_scroll_frame_ms_p95 = Math.round(frames[57] * 10) / 10;
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const heap = metrics.find((m) => m.name === "JSHeapUsedSize").value;
    figures.log_100k_js_heap_mb = Math.round(heap / 1e5) / 10;
    await screenshot(page, "15-log-100k");

    const assets = new URL("../../src/reefline/server/webui/", import.meta.url).pathname;
    const index = readFileSync(join(assets, "index.html"), "utf8");
    const initial = [...index.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    figures.initial_bundle_gzip_kb = Math.round(initial.reduce((sum, f) => sum + gzipSync(readFileSync(join(assets, f))).length, 0) / 102.4) / 10;
    figures.all_assets_gzip_kb = Math.round(readdirSync(join(assets, "assets")).reduce((sum, f) => sum + gzipSync(readFileSync(join(assets, "assets", f))).length, 0) / 102.4) / 10;
    assert.ok(figures.initial_bundle_gzip_kb < 400, `initial JS+CSS ${figures.initial_bundle_gzip_kb} KB gzipped`);
    assert.deepEqual(browser.problems, []);
  });
  await t.test("9. PWA: installable, and an offline reload", async () => {
    // pages opened once (after the sign-out above emptied the API cache) are what offline shows
    await page.goto(`${base}/t/research/runs`);
    await page.getByRole("cell", { name: "flow" }).first().waitFor();
    await page.goto(`${base}/t/research`);
    await page.getByRole("link", { name: "flow" }).waitFor();
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    if (!(await page.evaluate(() => Boolean(navigator.serviceWorker.controller)))) await page.reload();
    await page.waitForFunction(() => Boolean(navigator.serviceWorker.controller));
    await page.getByRole("link", { name: "flow" }).waitFor();
    const cdp = await browser.context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    assert.deepEqual(installabilityErrors, []);
    const manifest = await cdp.send("Page.getAppManifest");
    assert.deepEqual(manifest.errors, []);
    // The network drops: the server is gone and the browser is offline.
    browser.setExpectOffline(true);
    await server.kill();
    await browser.context.setOffline(true);
    await page.reload();
    await page.getByText("Offline: showing what this browser already loaded").waitFor();
    await page.getByRole("link", { name: "flow" }).waitFor();
    assert.ok(await page.getByRole("button", { name: "Create board" }).isDisabled());
    assert.ok(await page.getByRole("button", { name: "Sign out" }).isDisabled());
    await page.getByRole("link", { name: "Runs", exact: true }).click();
    await page.getByRole("cell", { name: "flow" }).first().waitFor();
    await screenshot(page, "12-offline");
  });

});
