#!/usr/bin/env node
// Real-browser check of the Ask page and the request timeline (the contract
// route; e2e/tests/web_ask.rs runs it against Terra Classic + chimerad + a
// relayer + the requester contract behind `chimera ui --contract ...
// --devnet-mnemonic ...`). Debian's Chromium, headless, playwright-core.
//
//   node relayer/web/tests/ask.mjs BASE_URL OUT_DIR
//
// Opens #/ask (the fee in LUNC from the contract's price, the mnemonic
// pre-filled), checks the "no wallet" and "not enough LUNC" errors, submits digits-ddpm "7" seed
// 42, follows the timeline to the acknowledgement on Terra, waits for the
// image and the "verified" badge, and opens the request at phone width.
// Screenshots: ask, timeline-progress, request-done, request-phone. Prints
// one line `timings {json}` (page load, submit → each step → verified).
import { mkdirSync } from "node:fs";
import { open } from "./chromium.mjs";

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: ask.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const TIMEOUT = 30_000;
const RESULT_WAIT = 300_000;
const fail = (msg) => {
  throw new Error(msg);
};

const { browser, page, problems, shot } = await open(outDir, TIMEOUT);
const timings = {};
try {

  // Page load: navigation until the form shows the fee from the contract.
  const t0 = Date.now();
  await page.goto(`${base}/#/ask`, { waitUntil: "load" });
  const fee = page.locator("[data-testid=fee]");
  await fee.waitFor();
  timings.ask_page_ready_ms = Date.now() - t0;
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return { dom_content_loaded_ms: Math.round(n.domContentLoadedEventEnd), load_ms: Math.round(n.loadEventEnd) };
  });
  Object.assign(timings, nav);
  const feeText = await fee.innerText();
  if (!feeText.includes("0.1 LUNC") || !feeText.includes("100000 uluna")) fail(`ask: the fee line says ${JSON.stringify(feeText)}`);
  const mnemonic = page.locator("textarea[name=mnemonic]");
  const words = await mnemonic.inputValue();
  if (words.trim().split(/\s+/).length < 12) fail("ask: the devnet mnemonic is not pre-filled (chimera ui --devnet-mnemonic)");

  // No wallet: an empty mnemonic says what to do, and nothing is sent.
  await mnemonic.fill("");
  await page.getByRole("button", { name: /Sign and send/ }).click();
  const err = page.locator("[data-testid=ask-error]");
  await err.waitFor();
  if (!(await err.innerText()).includes("no wallet")) fail(`ask: expected a "no wallet" error, got ${await err.innerText()}`);
  // An account with no LUNC (BIP-39's public test words, never funded on
  // the localnet): the page says so before anything is broadcast.
  await mnemonic.fill("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
  await page.getByRole("button", { name: /Sign and send/ }).click();
  await page.getByText("not enough LUNC").waitFor().catch(async () => fail(`ask: expected "not enough LUNC" for an empty account, got ${(await err.count()) ? await err.innerText() : "nothing"}`));
  await mnemonic.fill(words);

  await page.locator("select[name=model]").selectOption("digits-ddpm");
  await page.locator("textarea[name=prompt]").fill("7");
  await page.locator("input[name=seed]").fill("42");
  await shot(page, "ask");

  // Submit: sign with the in-page wallet, broadcast through /terra-rpc.
  const tSubmit = Date.now();
  await page.getByRole("button", { name: /Sign and send/ }).click();
  await page.waitForURL(/#\/requests\/\d+/, { timeout: 90_000 }).catch(async () => {
    const e = page.locator("[data-testid=ask-error]");
    fail(`ask: no request page after submitting${(await e.count()) ? `: ${await e.innerText()}` : ""}`);
  });
  timings.submit_to_broadcast_ms = Date.now() - tSubmit;
  const requestUrl = page.url();
  console.log(`submitted: ${requestUrl}`);

  // Follow the timeline: when each step first shows as done.
  const seen = {};
  let progressShot = false;
  const deadline = Date.now() + RESULT_WAIT;
  for (;;) {
    const states = await page.$$eval("ol.timeline li", (els) => els.map((e) => [e.dataset.step, e.dataset.state]));
    for (const [k, s] of states) if (s === "done" && seen[k] === undefined) seen[k] = Date.now() - tSubmit;
    if (!progressShot && seen.job !== undefined && seen.ack === undefined) {
      await shot(page, "timeline-progress");
      progressShot = true;
    }
    if ((await page.locator("[data-testid=verification]").count()) > 0) break;
    const failed = states.find(([, s]) => s === "failed");
    if (failed) fail(`timeline: step ${failed[0]} failed: ${await page.locator(`li[data-step="${failed[0]}"]`).innerText()}`);
    const alert = page.locator("main .error[role=alert]");
    if ((await alert.count()) > 0 && !(await alert.first().innerText()).includes("Timed out?")) fail(`request page: ${await alert.first().innerText()}`);
    if (Date.now() > deadline) fail(`timeline: not finished after ${RESULT_WAIT / 1000}s (steps done: ${JSON.stringify(seen)})`);
    await page.waitForTimeout(200);
  }
  const badge = page.locator("[data-testid=verification]");
  const text = (await badge.innerText()).toLowerCase();
  if (!text.includes("verified") || text.includes("failed")) fail(`request: expected "verified", the badge says ${JSON.stringify(text)}`);
  const img = page.locator("img.output-image");
  await img.waitFor();
  if (!(await img.evaluate((el) => el.complete && el.naturalWidth > 0))) fail("request: the output image did not load");
  timings.submit_to_verified_ms = Date.now() - tSubmit;
  timings.steps_done_after_submit_ms = seen;
  for (const k of ["terra", "job", "quorum", "ack"]) if (seen[k] === undefined) fail(`timeline: step ${k} never showed as done (${JSON.stringify(seen)})`);
  if (!Object.keys(seen).some((k) => k.startsWith("report-"))) fail("timeline: no validator report shown");
  // Finished once the ack's tx on Terra is found too (its height shown).
  await page.locator("ol.timeline[data-finished=true]").waitFor().catch(() => fail("timeline: not marked finished (the ack's tx on Terra not found)"));
  timings.submit_to_finished_ms = Date.now() - tSubmit;
  const ackText = await page.locator('li[data-step="ack"]').innerText();
  if (!/Terra height \d+/.test(ackText)) fail(`timeline: the ack step has no Terra height: ${ackText}`);
  const status = await page.locator("[data-testid=request-status]").innerText();
  if (status !== "succeeded") fail(`request: status ${status}`);
  await shot(page, "request-done");
  if (!progressShot) console.log("note: the timeline went from submit to the ack between two polls; no in-progress screenshot");

  // Phone width.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const pp = await phone.newPage();
  pp.setDefaultTimeout(TIMEOUT);
  await pp.goto(requestUrl, { waitUntil: "load" });
  await pp.locator("[data-testid=verification]").waitFor();
  await pp.locator("img.output-image").waitFor();
  const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`phone width: the request page is ${overflow}px wider than the 390px screen`);
  await shot(pp, "request-phone");
  await pp.goto(`${base}/#/ask`, { waitUntil: "load" });
  await pp.locator("[data-testid=fee]").waitFor();
  await shot(pp, "ask-phone");

  if (problems.length) fail(problems.join("; "));
  console.log(`timings ${JSON.stringify(timings)}`);
  console.log("ask check passed");
} catch (e) {
  console.error(`ask check failed: ${e.message.split("\n")[0]}`);
  console.log(`timings ${JSON.stringify(timings)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
