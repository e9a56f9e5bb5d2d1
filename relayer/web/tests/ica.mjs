#!/usr/bin/env node
// Real-browser check of the Ask page's ICA route and the ICA request
// timeline (e2e/tests/web_ica.rs runs it against Terra Classic + chimerad
// pricing models in LUNC + `chimera relay` behind `chimera ui --terra-rpc
// ... --terra-grpc ... --devnet-mnemonic ...`, no contract). Debian's
// Chromium, headless, playwright-core.
//
//   node relayer/web/tests/ica.mjs BASE_URL OUT_DIR
//
// Opens #/ask: the route is "Interchain account" (no contract), the fee
// line shows chimerad's 0.1 LUNC price and that the account must first be
// registered and funded with 1 LUNC. Submits digits-ddpm "7" seed 42: the
// progress steps go wallet → register (the relayer opens the channel) →
// fund (the vouchers arrive) → MsgSendTx; then the request page's timeline
// reaches the ack on Terra, the image and the "verified" badge. Second, the
// same request with "Encrypt prompt": registration and funding are skipped,
// one tx is broadcast and it carries the sealed envelope and a 17-byte
// ciphertext, never the plain "7". Screenshots: ica-ask, ica-ask-steps,
// ica-request-progress, ica-request-done, ica-request-phone,
// ica-ask-encrypted, ica-request-sealed-done. Prints `timings {json}`.
import { mkdirSync } from "node:fs";
import { open } from "./chromium.mjs";

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: ica.mjs BASE_URL OUT_DIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const TIMEOUT = 30_000;
const SEND_WAIT = 400_000;
const RESULT_WAIT = 300_000;
const fail = (msg) => {
  throw new Error(msg);
};

const { browser, page, problems, shot } = await open(outDir, TIMEOUT);
const timings = {};
// The page logs how long each ICA step took ("ica steps {json}").
const stepLogs = [];
// The request page may ask for its packet before Terra has indexed it (a
// 404 it retries); any other 404 is a problem.
const other404 = [];
page.on("response", (r) => r.status() === 404 && !r.url().includes("/api/ica-requests/") && other404.push(r.url()));
page.on("console", (m) => m.text().startsWith("ica steps ") && stepLogs.push(JSON.parse(m.text().slice(10))));

/** The bytes of the txs the page broadcasts through /terra-rpc while `f` runs. */
async function broadcasts(f) {
  const txs = [];
  const on = (r) => {
    if (r.url().includes("/terra-rpc") && r.method() === "POST" && /broadcast_tx/.test(r.postData() ?? "")) {
      const rpc = [JSON.parse(r.postData())].flat().find((x) => /broadcast_tx/.test(x.method));
      txs.push(Buffer.from(rpc.params.tx, "base64"));
    }
  };
  page.on("request", on);
  try {
    return { result: await f(), txs };
  } finally {
    page.off("request", on);
  }
}

/** Clicks send; records when each progress step shows done; waits for the ICA request page. */
async function submit(stepsShot) {
  const t = Date.now();
  const done = {};
  let shotTaken = false;
  let last = [];
  await page.getByRole("button", { name: /and send \(/ }).click();
  const deadline = Date.now() + SEND_WAIT;
  while (!/#\/ica\/channel-\d+\/\d+/.test(page.url())) {
    const err = page.locator("[data-testid=ask-error]");
    if ((await err.count()) > 0) fail(`ask: not sent: ${await err.innerText()}`);
    const states = await page
      .$$eval("[data-testid=ica-steps] li", (els) => els.map((e) => [e.dataset.step, e.dataset.state, e.innerText]))
      .catch(() => []);
    if (states.length) last = states;
    for (const [k, s] of states) if (s === "done" && done[k] === undefined) done[k] = Date.now() - t;
    if (stepsShot && !shotTaken && states.some(([k, s]) => k !== "wallet" && s === "active")) {
      await shot(page, stepsShot).catch(() => {});
      shotTaken = true;
    }
    if (Date.now() > deadline) fail(`ask: no request page ${SEND_WAIT / 1000}s after sending (steps: ${JSON.stringify(states)})`);
    await page.waitForTimeout(150);
  }
  console.log(`submitted: ${page.url()}`);
  return { t, url: page.url(), steps_done_ms: done, sent_ms: Date.now() - t, shotTaken, last };
}

/** Follows the request page's timeline from `t0` to the verified output
 *  and the ack's tx on Terra. */
async function follow(t0, progressName) {
  const steps = {};
  let progressShot = false;
  const deadline = Date.now() + RESULT_WAIT;
  for (;;) {
    const states = await page.$$eval("ol.timeline li", (els) => els.map((e) => [e.dataset.step, e.dataset.state]));
    for (const [k, s] of states) if (s === "done" && steps[k] === undefined) steps[k] = Date.now() - t0;
    if (!progressShot && steps.terra !== undefined && steps.ack === undefined) {
      await shot(page, progressName);
      progressShot = true;
    }
    if ((await page.locator("[data-testid=verification]").count()) > 0) break;
    const failed = states.find(([, s]) => s === "failed");
    if (failed) fail(`timeline: step ${failed[0]} failed: ${await page.locator(`li[data-step="${failed[0]}"]`).innerText()}`);
    // (allInnerTexts does not wait for an alert that went away.)
    for (const text of await page.locator("main .error[role=alert]").allInnerTexts()) {
      // The packet may not be indexed on Terra the very first poll.
      if (!/Timed out\?|not found|\(yet\)/.test(text)) fail(`request page: ${text}`);
    }
    if (Date.now() > deadline) fail(`timeline: not finished after ${RESULT_WAIT / 1000}s (steps done: ${JSON.stringify(steps)})`);
    await page.waitForTimeout(200);
  }
  const badge = page.locator("[data-testid=verification]");
  const text = (await badge.innerText()).toLowerCase();
  if (!text.includes("verified") || text.includes("failed")) fail(`request: expected "verified", the badge says ${JSON.stringify(text)}`);
  const img = page.locator("img.output-image");
  await img.waitFor();
  if (!(await img.evaluate((el) => el.complete && el.naturalWidth > 0))) fail("request: the output image did not load");
  const verified_ms = Date.now() - t0;
  for (const k of ["terra", "job", "quorum", "ack"]) if (steps[k] === undefined) fail(`timeline: step ${k} never showed as done (${JSON.stringify(steps)})`);
  if (!Object.keys(steps).some((k) => k.startsWith("report-"))) fail("timeline: no validator report shown");
  await page.locator("ol.timeline[data-finished=true]").waitFor().catch(() => fail("timeline: not marked finished (the ack's tx on Terra not found)"));
  const ackText = await page.locator('li[data-step="ack"]').innerText();
  if (!/Terra height \d+/.test(ackText) || !/acknowledgement says: succeeded/.test(ackText)) fail(`timeline: the ack step says ${JSON.stringify(ackText)}`);
  const status = await page.locator("[data-testid=request-status]").innerText();
  if (status !== "succeeded") fail(`request: status ${status}`);
  return { steps, verified_ms };
}

/** Opens #/ask on the ICA route with digits-ddpm "7" seed 42; waits for the account line. */
async function askPage(accountText) {
  await page.goto(`${base}/#/ask`, { waitUntil: "load" });
  const fee = page.locator("[data-testid=fee]");
  await fee.waitFor();
  if (!(await page.locator("input[name=route][value=ica]").isChecked())) fail("ask: the route is not the interchain account (the server has no contract)");
  await page.locator("select[name=model]").selectOption("digits-ddpm");
  await page.locator("textarea[name=prompt]").fill("7");
  await page.locator("input[name=seed]").fill("42");
  await page
    .waitForFunction((re) => new RegExp(re).test(document.querySelector("[data-testid=ica-account]")?.textContent ?? ""), accountText.source, { timeout: TIMEOUT })
    .catch(async () => fail(`ask: the fee line says ${JSON.stringify(await fee.innerText())}, expected ${accountText}`));
  return fee;
}

/** Whether the protobuf `tx` holds MsgRunInference's inline input `bytes` (Input{inline}). */
const hasInput = (tx, bytes) => tx.includes(Buffer.from([0x1a, bytes.length + 2, 0x0a, bytes.length, ...bytes]));

try {
  // Page ready: navigation until the fee line shows the price and the account.
  const t0 = Date.now();
  const fee = await askPage(/no interchain account yet[\s\S]*Funding: 1 LUNC/);
  timings.ask_page_ready_ms = Date.now() - t0;
  const feeText = await fee.innerText();
  if (!feeText.includes("0.1 LUNC") || !feeText.includes("100000 uluna")) fail(`ask: the fee line says ${JSON.stringify(feeText)}`);
  // The contract route is off, and says how to turn it on.
  await page.locator("input[name=route][value=contract]").check();
  const routeErr = await page.locator("[data-testid=route-error]").innerText();
  if (!/--contract/.test(routeErr)) fail(`ask: the contract route's error says ${JSON.stringify(routeErr)}`);
  await page.locator("input[name=route][value=ica]").check();
  await page.locator("[data-testid=ica-account]").waitFor();
  await shot(page, "ica-ask");

  // One submit: register, fund, send.
  const first = await broadcasts(() => submit("ica-ask-steps"));
  const s1 = first.result;
  if (!s1.shotTaken) await shot(page, "ica-ask-steps");
  timings.register_ms = stepLogs[0]?.register;
  timings.fund_ms = stepLogs[0]?.fund;
  timings.send_ms = stepLogs[0]?.send;
  timings.submit_to_request_page_ms = s1.sent_ms;
  timings.ask_steps_done_after_submit_ms = s1.steps_done_ms;
  // "send" turns done as the page leaves for the request page: the URL says it.
  for (const k of ["wallet", "register", "fund"]) if (s1.steps_done_ms[k] === undefined) fail(`ask: step ${k} never showed as done`);
  if (first.txs.length !== 3) fail(`ask: expected 3 broadcasts (register, transfer, MsgSendTx), saw ${first.txs.length}`);
  const [reg, transfer, sendTx] = first.txs.map((b) => b.toString("latin1"));
  if (!reg.includes("MsgRegisterInterchainAccount")) fail("ask: the first tx is not MsgRegisterInterchainAccount");
  if (!transfer.includes("/ibc.applications.transfer.v1.MsgTransfer")) fail("ask: the second tx is not an ICS-20 MsgTransfer");
  if (!sendTx.includes("MsgSendTx") || !sendTx.includes("/chimera.inference.v1.MsgRunInference") || !hasInput(first.txs[2], [0x37]))
    fail("ask: the third tx is not MsgSendTx carrying MsgRunInference with the input \"7\"");
  const requestUrl = s1.url;
  const run1 = await follow(s1.t, "ica-request-progress");
  timings.submit_to_verified_ms = run1.verified_ms;
  timings.steps_done_after_submit_ms = run1.steps;
  if ((await page.locator("[data-testid=sealed-badge]").count()) > 0) fail("request: a plain prompt is shown as sealed");
  const facts = await page.locator("dl.facts").innerText();
  if (!/Interchain account/.test(facts) || !/0\.1 LUNC/.test(facts)) fail(`request: the facts say ${JSON.stringify(facts)}`);
  await shot(page, "ica-request-done");

  // Phone width.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const pp = await phone.newPage();
  pp.setDefaultTimeout(TIMEOUT);
  await pp.goto(requestUrl, { waitUntil: "load" });
  await pp.locator("[data-testid=verification]").waitFor();
  await pp.locator("img.output-image").waitFor();
  const overflow = await pp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`phone width: the ICA request page is ${overflow}px wider than the 390px screen`);
  await shot(pp, "ica-request-phone");

  // The same account again, encrypted: no registration, no transfer.
  await askPage(/holds 0\.9 LUNC/);
  await page.locator("input[name=encrypt]").check();
  await page
    .waitForFunction(() => /sealed in this page to the \d+ executor key/.test(document.querySelector("[data-testid=encrypt-note]")?.textContent ?? ""), null, { timeout: TIMEOUT })
    .catch(async () => fail(`encrypt: the note says ${JSON.stringify(await page.locator("[data-testid=encrypt-note]").innerText())}`));
  if (/Funding/.test(await page.locator("[data-testid=fee]").innerText())) fail("ask: a funded account is to be funded again");
  await shot(page, "ica-ask-encrypted");
  const second = await broadcasts(() => submit(null));
  const s2 = second.result;
  timings.sealed_submit_to_request_page_ms = s2.sent_ms;
  if (second.txs.length !== 1) fail(`encrypt: expected one broadcast (MsgSendTx), saw ${second.txs.length}`);
  const sealedTx = second.txs[0];
  const sealedText = sealedTx.toString("latin1");
  if (!sealedText.includes("MsgSendTx") || !sealedText.includes("x25519-hkdf-sha256-chacha20poly1305-v1")) fail("encrypt: the MsgSendTx carries no sealed envelope");
  if (hasInput(sealedTx, [0x37])) fail('encrypt: the plain "7" went out in the tx');
  if (!sealedTx.includes(Buffer.from([0x1a, 19, 0x0a, 17]))) fail("encrypt: the tx's input is not a 17-byte ciphertext");
  // The progress steps said so: nothing to register, nothing to fund.
  const said = Object.fromEntries(s2.last.map(([k, , text]) => [k, text]));
  if (!/already registered/.test(said.register ?? "") || !/not needed/.test(said.fund ?? ""))
    fail(`encrypt: the second submit's steps say ${JSON.stringify(s2.last)}`);
  console.log(`sealed request ${page.url()}`);
  const run2 = await follow(s2.t, "ica-request-sealed-progress");
  timings.sealed_submit_to_verified_ms = run2.verified_ms;
  const sealedFact = await page.locator("[data-testid=request-input]").innerText();
  if (!(await page.locator("[data-testid=sealed-badge]").count()) || !/sealed\s+to \d+ executor key/.test(sealedFact))
    fail(`request: the page does not say the prompt was sealed: ${JSON.stringify(sealedFact)}`);
  await shot(page, "ica-request-sealed-done");
  console.log(`second submit's steps: ${JSON.stringify(said)}`);

  const real = other404.length ? problems : problems.filter((p) => !/status of 404/.test(p));
  if (real.length || other404.length) fail([...real, ...other404.map((u) => `404 ${u}`)].join("; "));
  console.log(`timings ${JSON.stringify(timings)}`);
  console.log("ica check passed");
} catch (e) {
  console.error(`ica check failed: ${e.message.split("\n")[0]}`);
  console.log(`timings ${JSON.stringify(timings)}`);
  await shot(page, "ica-failure").catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
