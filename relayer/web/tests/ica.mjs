#!/usr/bin/env node
// Real-browser check of the Ask page's ICA route and the ICA request
// timeline (e2e/tests/web_ica.rs runs it against Terra Classic + chimerad
// pricing models in LUNC + `chimera relay` behind `chimera ui --terra-rpc
// ... --terra-grpc ... --devnet-mnemonic ...`, no contract). Debian's
// Chromium, headless, playwright-core.
//
//   node relayer/web/tests/ica.mjs BASE_URL OUT_DIR [KEPLR_MNEMONIC]
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
//
// With KEPLR_MNEMONIC (a funded Terra account other than the devnet
// user's), third, the Keplr path: a fresh page with keplr-shim.js injected
// before it loads (Keplr's `window.keplr` API, that account's key outside
// the page, `localterra-1` unknown to it). The page must not touch the
// wallet before the user asks; "Keplr / Station" chosen and connected, it
// suggests Terra's chain (RPC through this server, coin type 330, prefix
// terra, uluna at /api/ica-info's gas price), enables it, shows the
// account, follows an account switch (`keplr_keystorechange`) to the
// devnet user's and back; the user rejects the first signature ("Request
// rejected"): the page says so and broadcasts nothing; the second submit
// registers, funds and sends digits-ddpm "7", every tx signed by the
// wallet's `signDirect` (its signatures are the ones in the txs), and the
// request page reaches the verified image. Prints `keplr {json}`.
// Screenshots: ica-ask-keplr, ica-ask-keplr-switched,
// ica-ask-keplr-rejected, ica-ask-keplr-steps, ica-request-keplr-done.
import { mkdirSync } from "node:fs";
import { open } from "./chromium.mjs";
import { followRequest } from "./timeline.mjs";
import { installKeplrShim } from "./keplr-shim.js";

const [base, outDir, keplrWords] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: ica.mjs BASE_URL OUT_DIR [KEPLR_MNEMONIC]");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const TIMEOUT = 30_000;
const SEND_WAIT = 400_000;
const RESULT_WAIT = 300_000;
const fail = (msg) => {
  throw new Error(msg);
};

const opened = await open(outDir, TIMEOUT);
const { browser, problems, shot } = opened;
// The page the steps below drive: the devnet-wallet page, then the Keplr one.
let page = opened.page;
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

/** Follows the request page to the verified output and the ack that
 *  says succeeded (tests/timeline.mjs). */
const follow = (t0, progressName) =>
  followRequest(page, shot, t0, progressName, { progressAfter: "terra", ackSays: /acknowledgement says: succeeded/, waitMs: RESULT_WAIT });

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

/** The Keplr path (see the top): a fresh page with the Keplr shim. */
async function keplrLeg() {
  const info = await (await fetch(`${base}/api/ica-info`)).json();
  const chainId = info.terra.chain_id;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (e) => problems.push(`keplr page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`keplr console error: ${m.text()}`));
  page.on("response", (r) => r.status() === 404 && !r.url().includes("/api/ica-requests/") && other404.push(r.url()));
  const shim = await installKeplrShim(page, { mnemonic: keplrWords, name: "keplr-e2e" });
  const addr = await shim.address();
  const t0 = Date.now();
  await page.goto(`${base}/#/ask`, { waitUntil: "load" });
  await page.locator("[data-testid=fee]").waitFor();
  if (!(await page.locator("input[name=route][value=ica]").isChecked())) fail("keplr: the route is not the interchain account");
  const keplrRadio = page.getByRole("radio", { name: /Keplr \/ Station/ });
  await keplrRadio.check();
  if ((await page.locator("textarea[name=mnemonic]").count()) > 0) fail("keplr: the devnet mnemonic box shows with Keplr / Station chosen");
  await page.locator("select[name=model]").selectOption("digits-ddpm");
  await page.locator("textarea[name=prompt]").fill("7");
  await page.locator("input[name=seed]").fill("42");
  const early = await shim.calls();
  if (early.length) fail(`keplr: the page called the wallet before the user asked: ${JSON.stringify(early.map((c) => c.method))}`);

  // Connect: suggest, enable, the account on the page.
  await page.getByRole("button", { name: "Connect Keplr / Station" }).click();
  const address = page.locator("[data-testid=wallet-address]");
  await address.waitFor().catch(async () => fail(`keplr: no account after connecting: ${await page.locator("[data-testid=wallet-account]").innerText()}`));
  if ((await address.innerText()) !== addr) fail(`keplr: the page shows ${await address.innerText()}, the wallet's account is ${addr}`);
  const accountLine = (re) =>
    page
      .waitForFunction((r) => new RegExp(r).test(document.querySelector("[data-testid=ica-account]")?.textContent ?? ""), re.source, { timeout: TIMEOUT })
      .catch(async () => fail(`keplr: the fee line says ${JSON.stringify(await page.locator("[data-testid=fee]").innerText())}, expected ${re}`));
  await accountLine(/no interchain account yet[\s\S]*Funding: 1 LUNC/);
  const ready_ms = Date.now() - t0;
  await shot(page, "ica-ask-keplr");

  // The user switches accounts in the wallet: the page follows.
  const devnet = info.devnet_mnemonic;
  if (devnet) {
    await shim.switchTo(devnet, "devnet-user");
    const other = await shim.address();
    await page.waitForFunction((a) => document.querySelector("[data-testid=wallet-address]")?.textContent === a, other).catch(() => fail("keplr: the page did not follow keplr_keystorechange"));
    await accountLine(/holds 0\.8 LUNC/);
    await shot(page, "ica-ask-keplr-switched");
    await shim.switchTo(keplrWords, "keplr-e2e");
    await page.waitForFunction((a) => document.querySelector("[data-testid=wallet-address]")?.textContent === a, addr).catch(() => fail("keplr: the page did not switch back"));
    await accountLine(/no interchain account yet/);
  }

  // The user rejects the first signature: a clear error, nothing broadcast.
  await shim.rejectNext("signDirect");
  const refused = await broadcasts(async () => {
    await page.getByRole("button", { name: /and send \(/ }).click();
    const err = page.locator("[data-testid=ask-error]");
    await err.waitFor({ timeout: SEND_WAIT });
    return err.innerText();
  });
  if (!/you rejected the registration in the wallet \("Request rejected"\), so it was not signed or sent/.test(refused.result))
    fail(`keplr: after the rejection the page says ${JSON.stringify(refused.result)}`);
  if (refused.txs.length) fail(`keplr: ${refused.txs.length} tx(s) broadcast after the user rejected signing`);
  if (!/failed/.test((await page.locator('[data-testid=ica-steps] li[data-step="register"]').getAttribute("data-state")) ?? ""))
    fail("keplr: the registration step does not show as failed after the rejection");
  await shot(page, "ica-ask-keplr-rejected");

  // Again, approved: register, fund, send, all signed in the wallet.
  const sent = await broadcasts(() => submit("ica-ask-keplr-steps"));
  if (sent.txs.length !== 3) fail(`keplr: expected 3 broadcasts (register, transfer, MsgSendTx), saw ${sent.txs.length}`);
  const sigs = shim.signatures();
  if (sigs.length !== 3) fail(`keplr: the wallet made ${sigs.length} signatures, expected 3`);
  sent.txs.forEach((tx, i) => {
    if (!tx.includes(Buffer.from(sigs[i], "base64"))) fail(`keplr: broadcast ${i + 1} does not carry the wallet's signature ${i + 1}`);
  });
  if (!hasInput(sent.txs[2], [0x37])) fail('keplr: the MsgSendTx does not carry "7"');
  const run = await follow(sent.result.t, "ica-request-keplr-progress");
  if ((await page.locator(`dl.facts code[title="${addr}"]`).count()) === 0)
    fail(`keplr: the request page does not name ${addr} as the requester: ${JSON.stringify(await page.locator("dl.facts").innerText())}`);
  await shot(page, "ica-request-keplr-done");

  // The wallet's own record of what the page asked.
  const calls = await shim.calls();
  const first = (m) => calls.findIndex((c) => c.method === m);
  const order = ["experimentalSuggestChain", "enable", "getOfflineSigner", "signDirect"].map(first);
  if (order.some((i) => i < 0) || order.some((i, k) => k > 0 && i <= order[k - 1]))
    fail(`keplr: expected suggest → enable → getOfflineSigner → signDirect, the wallet saw ${JSON.stringify(calls.map((c) => c.method))}`);
  const wrongChain = calls.filter((c) => "chainId" in c && c.chainId !== chainId);
  if (wrongChain.length) fail(`keplr: calls for another chain than ${chainId}: ${JSON.stringify(wrongChain)}`);
  const amino = calls.filter((c) => /Amino/.test(c.method));
  if (amino.length) fail(`keplr: the page used Amino: ${JSON.stringify(amino)}`);
  const suggests = calls.filter((c) => c.method === "experimentalSuggestChain");
  if (suggests.length !== 1) fail(`keplr: ${suggests.length} chain suggestions, expected 1`);
  const ci = suggests[0].chainInfo;
  const fee = ci.feeCurrencies?.[0];
  const price = Number.parseFloat(info.terra.gas_price);
  if (
    ci.chainId !== chainId ||
    ci.rpc !== `${base}${info.terra.rpc_proxy}` ||
    ci.bip44?.coinType !== 330 ||
    ci.bech32Config?.bech32PrefixAccAddr !== "terra" ||
    fee?.coinMinimalDenom !== "uluna" ||
    fee?.gasPriceStep?.average !== price
  )
    fail(`keplr: the suggested chain info is ${JSON.stringify(ci)}`);
  // Its REST is Terra's LCD through this server (`--terra-rest`), as
  // Keplr's own screens read it.
  if (ci.rest !== `${base}/terra-rest`) fail(`keplr: the suggested rest is ${ci.rest}, expected ${base}/terra-rest`);
  const nodeInfo = await (await fetch(`${ci.rest}/cosmos/base/tendermint/v1beta1/node_info`)).json();
  if (nodeInfo.default_node_info?.network !== chainId) fail(`keplr: ${ci.rest} answers node_info ${JSON.stringify(nodeInfo).slice(0, 200)}`);
  const signs = calls.filter((c) => c.method === "signDirect");
  if (signs.length !== 4 || signs.some((c) => c.signer !== addr || c.docChainId !== chainId))
    fail(`keplr: signDirect calls ${JSON.stringify(signs)} (expected 4 for ${addr} on ${chainId}: 1 rejected, 3 signed)`);
  const violations = await shim.violations();
  if (violations.length) fail(`keplr: the page used the wallet before enabling: ${violations.join("; ")}`);
  const summary = {
    address: addr,
    chain_id: chainId,
    request: page.url(),
    calls: calls.map((c) => c.method),
    ready_ms,
    submit_to_verified_ms: run.verified_ms,
  };
  console.log(`keplr ${JSON.stringify(summary)}`);
  await ctx.close();
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

  if (keplrWords) await keplrLeg();

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
