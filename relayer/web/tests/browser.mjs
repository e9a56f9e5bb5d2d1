#!/usr/bin/env node
// Real-browser check of the web app (e2e/tests/web_ui.rs runs it against a
// live chimerad behind `chimera ui`): Debian's Chromium, headless, driven by
// playwright-core (no browser download).
//
//   node relayer/web/tests/browser.mjs BASE_URL OUT_DIR JOB_ID [tampered]
//
// Default mode visits Models, Jobs, the Job page (waits for the image and
// the "verified" badge), Validators and Tokenomics, and saves a screenshot
// of each, plus the Job page at phone width (390 px), into OUT_DIR.
// `tampered` mode expects the Job page to say "verification failed" (the
// server in front of a dishonest blob node) and shows no image.
// Exits 1 with one clear line on any failure.
import { mkdirSync } from "node:fs";
import { open } from "./chromium.mjs";

const [base, outDir, jobId, mode = "honest"] = process.argv.slice(2);
if (!base || !outDir || !jobId || !["honest", "tampered"].includes(mode)) {
  console.error("usage: browser.mjs BASE_URL OUT_DIR JOB_ID [tampered]");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const TIMEOUT = 30_000;

function fail(msg) {
  throw new Error(msg);
}

const { browser, page, problems, shot } = await open(outDir, TIMEOUT);
try {
  const visit = async (p, hash, what) => {
    const t0 = Date.now();
    await p.goto(`${base}/#/${hash}`, { waitUntil: "load" });
    await p.locator("main h1").first().waitFor();
    return t0;
  };
  const noErrors = async (p, what) => {
    const alerts = p.locator("main .error[role=alert]");
    if ((await alerts.count()) > 0) fail(`${what}: the page shows an error: ${await alerts.first().innerText()}`);
  };
  const jobPage = async (p, name) => {
    const t0 = await visit(p, `jobs/${jobId}`, "job");
    const badge = p.locator("[data-testid=verification]");
    await badge.waitFor({ timeout: TIMEOUT }).catch(() => fail(`job ${jobId}: no verification badge within ${TIMEOUT / 1000}s`));
    const text = (await badge.innerText()).toLowerCase();
    if (mode === "honest") {
      if (!text.includes("verified") || text.includes("failed")) fail(`job ${jobId}: expected "verified", the badge says ${JSON.stringify(text)}`);
      const img = p.locator("img.output-image");
      await img.waitFor();
      const ok = await img.evaluate((el) => el.complete && el.naturalWidth > 0);
      if (!ok) fail(`job ${jobId}: the output image did not load`);
      const alt = await img.getAttribute("alt");
      if (!alt || !alt.includes("verified")) fail(`job ${jobId}: the image has no useful alt text (${alt})`);
    } else {
      if (!text.includes("verification failed")) fail(`job ${jobId}: expected "verification failed", the badge says ${JSON.stringify(text)}`);
      if ((await p.locator("img.output-image").count()) > 0) fail(`job ${jobId}: a tampered output is displayed`);
    }
    console.log(`job ${jobId}: ${mode === "honest" ? "verified" : "verification failed"} shown ${Date.now() - t0} ms after navigation`);
    await shot(p, name);
  };

  if (mode === "tampered") {
    await jobPage(page, "job-tampered");
  } else {
    await visit(page, "models");
    await page.getByRole("table", { name: "Registered models" }).waitFor();
    if ((await page.getByText("digits-ddpm", { exact: true }).count()) === 0) fail("models: digits-ddpm is not listed");
    await noErrors(page, "models");
    await shot(page, "models");

    await visit(page, "jobs");
    await page.getByRole("link", { name: `Job ${jobId}`, exact: true }).waitFor().catch(() => fail(`jobs: job ${jobId} is not listed`));
    await noErrors(page, "jobs");
    await shot(page, "jobs");

    await jobPage(page, "job");

    await visit(page, "validators");
    await page.locator("table[aria-label^='Executors at height']").waitFor().catch(() => fail("validators: no executors table"));
    await page.getByRole("heading", { name: "Executor keys" }).waitFor();
    await page.locator("main .loading").first().waitFor({ state: "detached" }).catch(() => {});
    await noErrors(page, "validators");
    await shot(page, "validators");

    await visit(page, "tokenomics");
    await page.locator("main .loading").first().waitFor({ state: "detached" }).catch(() => {});
    await page.locator("main table, main .empty").first().waitFor().catch(() => fail("tokenomics: neither totals nor the empty state shown"));
    await noErrors(page, "tokenomics");
    await shot(page, "tokenomics");

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const pp = await phone.newPage();
    pp.setDefaultTimeout(TIMEOUT);
    await jobPage(pp, "job-phone");
    const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) fail(`phone width: the Job page is ${overflow}px wider than the 390px screen`);
  }
  const real = problems.filter((p) => !(mode === "tampered" && p.includes("status of")));
  if (real.length) fail(real.join("; "));
  console.log(`browser check (${mode}) passed`);
} catch (e) {
  console.error(`browser check (${mode}) failed: ${e.message.split("\n")[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
