#!/usr/bin/env node
// Real-browser sweep of the web app's Explore pages (e2e/tests/web_pages.rs
// runs it against a live chimerad with paid jobs behind `chimera ui`):
// Debian's Chromium, headless, driven by playwright-core.
//
//   node relayer/web/tests/pages.mjs BASE_URL OUT_DIR live IMAGE_JOB PAID_JOB PAID_MODEL
//   node relayer/web/tests/pages.mjs BASE_URL OUT_DIR down IMAGE_JOB
//
// `live` visits Models, Jobs, the Job page, Validators and Tokenomics at
// desktop width (1280×800) and at 375×812, and checks on each: the data
// shows (a model row, the job rows, the verified image, a validator row
// with its earnings, the fee chart with its points), the jobs filter
// narrows the list (model, then a status nothing has: "no jobs match"),
// no sideways scrolling (`scrollWidth <= innerWidth`), a name on every
// input/select/textarea/button, alt text on every img, the landmarks
// (banner, navigation, main). It saves `PAGE-desktop.png` and
// `PAGE-phone.png` into OUT_DIR, and smaller ones for the docs
// (`docs-*.png`). Then it times each page five times: navigation start
// to the data shown, against the same page's API calls fetched bare from
// the same page (JSON parsed), and when the page sent its first API call
// (`boot_ms`: HTML, JS, CSS, first render), and prints `timing PAGE
// load_ms=.. api_ms=.. boot_ms=..` (medians) and `timing-json [...]`.
//
// `down` (chimerad stopped) expects every page to say chimerad is
// unreachable and how to fix it (`scripts/devnet`, `--host-grpc`), and
// saves `PAGE-down.png`.
// Exits 1 with one clear line on any failure.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { open } from "./chromium.mjs";

const [base, outDir, mode, imageJob, paidJob, paidModel] = process.argv.slice(2);
if (!base || !outDir || !["live", "down"].includes(mode) || !imageJob || (mode === "live" && (!paidJob || !paidModel))) {
  console.error("usage: pages.mjs BASE_URL OUT_DIR live IMAGE_JOB PAID_JOB PAID_MODEL | pages.mjs BASE_URL OUT_DIR down IMAGE_JOB");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const TIMEOUT = 30_000;
const RUNS = 5;

function fail(msg) {
  throw new Error(msg);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const { browser, page: desktop, problems, shot } = await open(outDir, TIMEOUT);

/** Each page: its route, what shows its data, and the API calls it makes. */
const PAGES = [
  {
    name: "models",
    hash: "models",
    ready: (p) => p.locator("table[aria-label='Registered models'] tbody tr").first().waitFor(),
    api: ["/api/info", "/api/models"],
  },
  {
    name: "jobs",
    hash: "jobs",
    ready: (p) => p.getByRole("link", { name: `Job ${paidJob}`, exact: true }).waitFor(),
    api: ["/api/info", "/api/jobs?model=&requester=&status=&limit=50", "/api/models"],
  },
  {
    name: "job",
    hash: `jobs/${imageJob}`,
    ready: async (p) => {
      await p.locator("img.output-image").waitFor();
      await p.waitForFunction(() => {
        const i = document.querySelector("img.output-image");
        return i && i.complete && i.naturalWidth > 0;
      });
    },
    api: ["/api/info", `/api/jobs/${imageJob}`, "BLOB"],
  },
  {
    name: "validators",
    hash: "validators",
    ready: async (p) => {
      await p.locator("table[aria-label^='Executors at height'] tbody tr").first().waitFor();
      await p.locator("table[aria-labelledby=keys-h] tbody tr").first().waitFor();
    },
    api: ["/api/info", "/api/executors", "/api/executor-keys"],
  },
  {
    name: "tokenomics",
    hash: "tokenomics",
    ready: async (p) => {
      await p.locator("[data-testid=fee-chart] svg[role=img] circle.point").first().waitFor();
      await p.locator("table[aria-label^='Fee totals per denom'] tbody tr").first().waitFor();
    },
    api: ["/api/info", "/api/fees/totals", "/api/fees/params", "/api/fees/history?points=48"],
  },
];

/** Whatever every page must have, at any width. */
async function common(p, what) {
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) {
    const wide = await p.evaluate(() =>
      [...document.querySelectorAll("main *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 3)
        .map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)}px)`)
        .join(", "),
    );
    fail(`${what}: the page is ${overflow}px wider than the screen (scrolls sideways): ${wide}`);
  }
  const unnamed = await p.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea, button")]
      .filter((e) => e.type !== "hidden")
      .filter((e) => !(e.labels?.length || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby") || e.getAttribute("title") || (e.tagName === "BUTTON" && e.textContent.trim())))
      .map((e) => e.outerHTML.slice(0, 80)),
  );
  if (unnamed.length) fail(`${what}: controls without an accessible name: ${unnamed.join(" | ")}`);
  const noAlt = await p.evaluate(() => [...document.querySelectorAll("img")].filter((i) => !(i.getAttribute("alt") ?? "").trim()).map((i) => i.src));
  if (noAlt.length) fail(`${what}: images without alt text: ${noAlt.join(", ")}`);
  for (const role of ["banner", "navigation", "main"]) {
    if ((await p.getByRole(role).count()) === 0) fail(`${what}: no ${role} landmark`);
  }
  const alerts = p.locator("main .error[role=alert]");
  if (mode === "live" && (await alerts.count()) > 0) fail(`${what}: the page shows an error: ${await alerts.first().innerText()}`);
}

/** Loads `hash` afresh (a full navigation) and waits for `ready`; returns
 *  ms from navigation start to the data shown. */
async function load(p, pg) {
  await p.goto("about:blank");
  await p.goto(`${base}/#/${pg.hash}`, { waitUntil: "commit" });
  await pg.ready(p).catch((e) => fail(`${pg.name}: its data did not show: ${e.message.split("\n")[0]}`));
  return p.evaluate(() => performance.now());
}

/** Navigation start → the page's first /api request (HTML, JS, CSS, first render). */
async function bootTime(p) {
  return p.evaluate(() => Math.min(...performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/")).map((e) => e.startTime)));
}

/** The page's own API calls, fetched bare in parallel from the page (JSON parsed). */
async function apiTime(p, paths) {
  return p.evaluate(async (paths) => {
    const t = performance.now();
    await Promise.all(
      paths.map(async (path) => {
        const r = await fetch(path, { cache: "no-store" });
        if (!r.ok) throw new Error(`${path}: ${r.status}`);
        return path.startsWith("/api/blobs/") ? r.arrayBuffer() : r.json();
      }),
    );
    return performance.now() - t;
  }, paths);
}

async function live() {
  const phoneCtx = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const phone = await phoneCtx.newPage();
  phone.setDefaultTimeout(TIMEOUT);
  phone.on("pageerror", (e) => problems.push(`page error (phone): ${e.message}`));
  phone.on("console", (m) => m.type() === "error" && problems.push(`console error (phone): ${m.text()}`));
  const firstLoads = {};
  for (const [p, width] of [
    [desktop, "desktop"],
    [phone, "phone"],
  ]) {
    for (const pg of PAGES) {
      const ms = await load(p, pg);
      if (width === "desktop") firstLoads[pg.name] = ms;
      const what = `${pg.name} (${width})`;
      if (pg.name === "models" && (await p.getByText("digits-ddpm", { exact: true }).count()) === 0) fail(`${what}: digits-ddpm is not listed`);
      if (pg.name === "jobs") {
        await p.getByRole("link", { name: `Job ${imageJob}`, exact: true }).waitFor().catch(() => fail(`${what}: job ${imageJob} is not listed`));
      }
      if (pg.name === "job") {
        const badge = await p.locator("[data-testid=verification]").innerText();
        if (!badge.toLowerCase().includes("verified")) fail(`${what}: the badge says ${JSON.stringify(badge)}`);
      }
      if (pg.name === "validators") {
        const row = p.locator("table[aria-label^='Executors at height'] tbody tr").first();
        const earned = await row.locator("td[data-label=Earnings]").innerText();
        if (earned.trim() === "0") fail(`${what}: the validator earned nothing: ${await row.innerText()}`);
        const agreement = await row.locator("[data-testid=agreement]").innerText();
        if (!/\d+(\.\d+)?%/.test(agreement)) fail(`${what}: no agreement rate: ${agreement}`);
        const faults = await row.locator("td[data-label=Faults]").innerText();
        const excluded = await row.locator("td[data-label=Excluded]").innerText();
        console.log(`${what}: earnings ${earned.trim()}, agreement ${agreement.replace(/\s+/g, " ").trim()}, faults ${faults.trim()}, excluded ${excluded.trim()}`);
      }
      if (pg.name === "tokenomics") {
        const svg = p.locator("[data-testid=fee-chart] svg[role=img]").first();
        const label = await svg.getAttribute("aria-label");
        if (!label || !label.includes("Fee totals")) fail(`${what}: the chart has no summary label (${label})`);
        const points = await svg.locator("circle.point").count();
        const lines = await svg.locator("polyline").count();
        if (points < 8 || lines !== 4) fail(`${what}: the chart has ${lines} lines and ${points} points`);
        const box = await svg.boundingBox();
        if (!box || box.width < 300) fail(`${what}: the chart is ${box?.width}px wide`);
        await p.getByText("The numbers behind the chart", { exact: false }).first().click();
        const rows = await p.locator("[data-testid=fee-chart] details table tbody tr").count();
        if (rows * 4 !== points) fail(`${what}: the table has ${rows} rows for ${points / 4} samples`);
        await p.getByText("The numbers behind the chart", { exact: false }).first().click();
        console.log(`${what}: ${label}`);
      }
      await common(p, what);
      await shot(p, `${pg.name}-${width}`);
    }

    // The filter narrows the list: the paid model only, then a status nothing has.
    await load(p, PAGES[1]);
    const rows = () => p.locator("table[aria-label='Recent jobs'] tbody tr").count();
    const all = await rows();
    await p.getByLabel("Model").selectOption(paidModel);
    await p.waitForFunction((m) => location.hash.includes(`model=${m}`), paidModel);
    await p.getByRole("link", { name: `Job ${paidJob}`, exact: true }).waitFor();
    await p.getByRole("link", { name: `Job ${imageJob}`, exact: true }).waitFor({ state: "detached" }).catch(() => fail(`jobs (${width}): the ${paidModel} filter still lists job ${imageJob}`));
    const narrowed = await rows();
    if (!(narrowed < all && narrowed > 0)) fail(`jobs (${width}): filtering by ${paidModel} shows ${narrowed} of ${all} rows`);
    if ((await p.getByText(`with model ${paidModel}`).count()) === 0) fail(`jobs (${width}): the count does not name the filter`);
    await common(p, `jobs filtered (${width})`);
    await shot(p, `jobs-filtered-${width}`);
    await p.getByLabel("Status").selectOption("failed");
    await p.getByText("No jobs match", { exact: false }).waitFor().catch(() => fail(`jobs (${width}): no "no jobs match" state for status failed`));
    await p.getByRole("link", { name: "Clear filters" }).waitFor();
    await common(p, `jobs none match (${width})`);
    await shot(p, `jobs-none-${width}`);
    await p.getByRole("link", { name: "Clear filters" }).click();
    await p.getByRole("link", { name: `Job ${imageJob}`, exact: true }).waitFor();
    // The route carries the filter: a deep link shows it applied.
    await p.goto("about:blank");
    await p.goto(`${base}/#/jobs?status=completed&model=${encodeURIComponent(paidModel)}`);
    await p.getByRole("link", { name: `Job ${paidJob}`, exact: true }).waitFor();
    if ((await p.getByLabel("Status").inputValue()) !== "completed") fail(`jobs (${width}): the status control does not show the route's filter`);
    console.log(`jobs (${width}): ${all} rows, ${narrowed} with model ${paidModel}, none failed`);
  }

  // An unknown job says so and where to look.
  await desktop.goto(`${base}/#/jobs/999999`);
  const missing = await desktop.locator("main .error[role=alert]").innerText();
  if (!missing.includes("not found")) fail(`job 999999: ${missing}`);
  await desktop.getByRole("link", { name: "Jobs page" }).waitFor();
  await shot(desktop, "job-missing-desktop");

  // Smaller images for docs/ui (the viewport or the main element only, at 1×: under 100 kB).
  await load(phone, PAGES[4]);
  await phone.screenshot({ path: join(outDir, "docs-tokenomics-phone.png") });
  await load(phone, PAGES[1]);
  await phone.screenshot({ path: join(outDir, "docs-jobs-phone.png") });
  await load(desktop, PAGES[4]);
  const chart = desktop.locator("main");
  await chart.screenshot({ path: join(outDir, "docs-tokenomics.png") });
  await load(desktop, PAGES[3]);
  await desktop.locator("main").screenshot({ path: join(outDir, "docs-validators.png") });
  await load(desktop, PAGES[1]);
  await desktop.getByLabel("Model").selectOption(paidModel);
  await desktop.getByRole("link", { name: `Job ${imageJob}`, exact: true }).waitFor({ state: "detached" });
  await desktop.locator("main").screenshot({ path: join(outDir, "docs-jobs-filtered.png") });

  // Timing: page load (navigation start to data shown) against its bare API calls.
  const blobSha = await desktop.evaluate(async (id) => (await (await fetch(`/api/jobs/${id}`)).json()).job.result.output.sha256, imageJob);
  const results = [];
  for (const pg of PAGES) {
    const api = pg.api.map((a) => (a === "BLOB" ? `/api/blobs/${blobSha}` : a));
    const loads = [];
    const apis = [];
    const boots = [];
    for (let i = 0; i < RUNS; i++) {
      loads.push(await load(desktop, pg));
      boots.push(await bootTime(desktop));
      apis.push(await apiTime(desktop, api));
    }
    const r = { page: pg.name, load_ms: Math.round(median(loads)), api_ms: Math.round(median(apis)), boot_ms: Math.round(median(boots)), first_load_ms: Math.round(firstLoads[pg.name]), api_calls: api.length, runs: RUNS };
    r.ratio = Number((r.load_ms / Math.max(r.api_ms, 1)).toFixed(1));
    results.push(r);
    console.log(`timing ${pg.name} load_ms=${r.load_ms} api_ms=${r.api_ms} ratio=${r.ratio} boot_ms=${r.boot_ms} first_load_ms=${r.first_load_ms} (median of ${RUNS}; ${api.length} API calls)`);
  }
  console.log(`timing-json ${JSON.stringify(results)}`);
}

async function down() {
  for (const pg of PAGES) {
    await desktop.goto("about:blank");
    await desktop.goto(`${base}/#/${pg.hash}`);
    const alert = desktop.locator("main .error[role=alert]").first();
    await alert.waitFor().catch(() => fail(`${pg.name}: no error shown with chimerad down`));
    const text = await alert.innerText();
    if (!text.includes("unreachable") || !text.includes("scripts/devnet") || !text.includes("--host-grpc"))
      fail(`${pg.name}: the error does not say chimerad is unreachable and how to fix it: ${text}`);
    const header = await desktop.locator("header .chain").innerText();
    if (!header.includes("unreachable")) fail(`${pg.name}: the header does not say the chain is down: ${header}`);
    if ((await desktop.getByRole("button", { name: "Try again" }).count()) === 0) fail(`${pg.name}: no "Try again" button`);
    await common(desktop, `${pg.name} (down)`);
    await shot(desktop, `${pg.name}-down`);
    console.log(`${pg.name} (down): ${text.split("\n")[0].slice(0, 160)}`);
  }
}

try {
  await (mode === "live" ? live() : down());
  // A stopped chimerad makes the API answer 502: the browser logs those.
  // (and the unknown job a 404).
  const real = problems.filter((p) => !(mode === "down" && p.includes("status of 502")) && !p.includes("status of 404"));
  if (real.length) fail(real.join("; "));
  console.log(`pages check (${mode}) passed`);
} catch (e) {
  console.error(`pages check (${mode}) failed: ${e.message.split("\n")[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
