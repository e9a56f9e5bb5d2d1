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
// Then the same page submits digits-ddpm "7" again with "Encrypt prompt"
// ticked: the tx it broadcasts must carry the sealed envelope and no
// plaintext, the request page must say "sealed", and the job must reach its
// verified image (chimerad completes it only if the validator opened the
// envelope the browser made). Then digits-cnn, a tensor model: the grid
// paints, the first request's PNG is uploaded and scaled into it, and the
// verified class probabilities must put 7 first. Then a private output:
// "Encrypt prompt" and "Keep the output private" (the output sealed to a
// key the page makes and keeps in localStorage): the page opens the
// verified ciphertext to the image; a second browser without the key
// verifies the ciphertext and shows no image. Last, the Validators page
// with its agreement column. Screenshots: ask, timeline-progress,
// request-done, request-phone, ask-phone, ask-encrypted,
// request-sealed-done, ask-tensor, request-tensor-done, ask-private-output,
// request-private-output, request-private-elsewhere, validators. Prints
// `timings {json}` (page load, submit → each step → verified) and
// `sealed_request ID`.
import { mkdirSync, writeFileSync } from "node:fs";
import { open } from "./chromium.mjs";
import { followRequest } from "./timeline.mjs";

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

/** The JSON object that starts with `prefix` inside `text` (brace-matched,
 *  strings respected), or null. */
function jsonAt(text, prefix) {
  const at = text.indexOf(prefix);
  if (at < 0) return null;
  let depth = 0;
  let inString = false;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return text.slice(at, i + 1);
  }
  return null;
}

/** Clicks the submit button; waits for the request page. */
async function submit() {
  const t = Date.now();
  await page.getByRole("button", { name: /and send \(/ }).click();
  await page.waitForURL(/#\/requests\/\d+/, { timeout: 90_000 }).catch(async () => {
    const e = page.locator("[data-testid=ask-error]");
    fail(`ask: no request page after submitting${(await e.count()) ? `: ${await e.innerText()}` : ""}`);
  });
  const url = page.url();
  console.log(`submitted: ${url}`);
  return { t, url, broadcast_ms: Date.now() - t };
}

/** A fresh Ask page with digits-ddpm "7" seed 42 and "Encrypt prompt" ticked. */
async function askSealedSeven() {
  await page.goto(`${base}/#/ask`, { waitUntil: "load" });
  await page.locator("[data-testid=fee]").waitFor();
  await page.locator("select[name=model]").selectOption("digits-ddpm");
  await page.locator("textarea[name=prompt]").fill("7");
  await page.locator("input[name=seed]").fill("42");
  await page.locator("input[name=encrypt]").check();
}

/** Follows the request page to the verified output (tests/timeline.mjs). */
const follow = async (t0, progressName, output = "image") => {
  const r = await followRequest(page, shot, t0, progressName, { output, waitMs: RESULT_WAIT });
  return { seen: r, progressShot: r.progressShot };
};
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
  await page.getByRole("button", { name: /and send \(/ }).click();
  const err = page.locator("[data-testid=ask-error]");
  await err.waitFor();
  if (!(await err.innerText()).includes("no wallet")) fail(`ask: expected a "no wallet" error, got ${await err.innerText()}`);
  // An account with no LUNC (BIP-39's public test words, never funded on
  // the localnet): the page says so before anything is broadcast.
  await mnemonic.fill("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
  await page.getByRole("button", { name: /and send \(/ }).click();
  await page.getByText("not enough LUNC").waitFor().catch(async () => fail(`ask: expected "not enough LUNC" for an empty account, got ${(await err.count()) ? await err.innerText() : "nothing"}`));
  await mnemonic.fill(words);

  await page.locator("select[name=model]").selectOption("digits-ddpm");
  await page.locator("textarea[name=prompt]").fill("7");
  await page.locator("input[name=seed]").fill("42");
  await shot(page, "ask");

  // Submit: sign with the in-page wallet, broadcast through /terra-rpc.
  const first = await submit();
  timings.submit_to_broadcast_ms = first.broadcast_ms;
  const requestUrl = first.url;
  const { seen, progressShot } = await follow(first.t, "timeline-progress");
  timings.submit_to_verified_ms = seen.verified_ms;
  timings.steps_done_after_submit_ms = seen.steps;
  timings.submit_to_finished_ms = seen.finished_ms;
  if ((await page.locator("[data-testid=sealed-badge]").count()) > 0) fail("request: a plain prompt is shown as sealed");
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

  // The same request with "Encrypt prompt": sealed in the page to the
  // executor keys chimerad publishes.
  await askSealedSeven();
  const note = page.locator("[data-testid=encrypt-note]");
  await page.waitForFunction(() => /sealed in this page to the \d+ executor key/.test(document.querySelector("[data-testid=encrypt-note]")?.textContent ?? ""), null, { timeout: TIMEOUT }).catch(async () => fail(`encrypt: the note says ${JSON.stringify(await note.innerText())}`));
  await shot(page, "ask-encrypted");
  const txs = [];
  const onRequest = (r) => {
    if (r.url().includes("/terra-rpc") && r.method() === "POST" && /broadcast_tx/.test(r.postData() ?? "")) txs.push(r.postData());
  };
  page.on("request", onRequest);
  const sealedSubmit = await submit();
  page.off("request", onRequest);
  timings.sealed_submit_to_broadcast_ms = sealedSubmit.broadcast_ms;
  const sealedId = sealedSubmit.url.match(/#\/requests\/(\d+)/)[1];
  // What left the page: the contract message inside the signed tx (its
  // JSON bytes sit verbatim in the protobuf) has the envelope and a
  // ciphertext, not the prompt's bytes ("7" is "Nw==" in base64).
  if (txs.length !== 1) fail(`encrypt: expected one broadcast through /terra-rpc, saw ${txs.length}`);
  const rpc = [JSON.parse(txs[0])].flat().find((x) => /broadcast_tx/.test(x.method));
  const msgJson = jsonAt(Buffer.from(rpc.params.tx, "base64").toString("latin1"), '{"request_inference":');
  if (!msgJson) fail("encrypt: no request_inference message in the broadcast tx");
  const sent = JSON.parse(msgJson).request_inference;
  if (!sent.sealed || sent.sealed.scheme !== "x25519-hkdf-sha256-chacha20poly1305-v1" || !(sent.sealed.recipients?.length >= 1))
    fail(`encrypt: the tx's message has no sealed envelope: ${msgJson.slice(0, 300)}`);
  if (sent.input === "Nw==" || Buffer.from(sent.input, "base64").length !== 1 + 16) fail(`encrypt: the tx's input is not the 17-byte ciphertext of "7": ${sent.input}`);
  console.log(`sealed_request ${sealedId} to ${sent.sealed.recipients.length} executor key(s), input ${sent.input}`);
  const sealedRun = await follow(sealedSubmit.t, "timeline-sealed-progress");
  timings.sealed_submit_to_verified_ms = sealedRun.seen.verified_ms;
  // A sealed job agrees in two rounds: the validators' sealed sketches,
  // then each one's check of the reference's (shown as "confirmed").
  const confirms = Object.keys(sealedRun.seen.steps).filter((k) => k.startsWith("confirm-"));
  console.log(`sealed_rounds: ${Object.keys(sealedRun.seen.steps).filter((k) => k.startsWith("report-")).length} reports, ${confirms.length} confirmations`);
  timings.sealed_steps_done_after_submit_ms = sealedRun.seen.steps;
  const sealedFact = await page.locator("[data-testid=request-input]").innerText();
  if (!(await page.locator("[data-testid=sealed-badge]").count()) || !/sealed\s+to \d+ executor key/.test(sealedFact))
    fail(`request: the page does not say the prompt was sealed: ${JSON.stringify(sealedFact)}`);
  // The API the page reads says sealed, and carries no input at all.
  const api = await page.evaluate(async (id) => (await fetch(`/api/requests/${id}`)).text(), sealedId);
  const a = JSON.parse(api);
  if (JSON.stringify(a.terra.packet?.input?.sealed?.recipients) !== JSON.stringify(sent.sealed.recipients.map((r) => r.executor)))
    fail(`api: /api/requests/${sealedId} does not name the envelope's recipients: ${JSON.stringify(a.terra.packet)}`);
  if (api.includes(sent.input) || api.includes("Nw==") || api.includes("wrapped_key")) fail(`api: /api/requests/${sealedId} carries input or envelope bytes`);
  await shot(page, "request-sealed-done");

  // A tensor model: digits-cnn reads f32[1, 8, 8] (the chain's registry
  // says so). The grid starts with the sample 7; painting toggles a cell;
  // then the first request's verified PNG is uploaded and scaled to the
  // grid, and the class probabilities come back verified.
  await page.goto(`${base}/#/ask`, { waitUntil: "load" });
  await page.locator("[data-testid=fee]").waitFor();
  await page.locator("select[name=model]").selectOption("digits-cnn");
  const tensorNote = page.locator("[data-testid=tensor-note]");
  await tensorNote.waitFor();
  if (!/256 bytes from the sample 7/.test(await tensorNote.innerText())) fail(`tensor: the note says ${JSON.stringify(await tensorNote.innerText())}`);
  if ((await page.locator("textarea[name=prompt]").count()) > 0) fail("tensor: a prompt box is shown for a tensor model");
  const cell = page.locator("[data-testid=pad-cell]").first();
  await cell.click();
  if ((await cell.getAttribute("aria-pressed")) !== "true") fail("tensor: clicking an empty cell does not paint it");
  await cell.click();
  if ((await cell.getAttribute("aria-pressed")) !== "false") fail("tensor: clicking a painted cell does not erase it");
  const firstId = requestUrl.match(/#\/requests\/(\d+)/)[1];
  const firstSha = JSON.parse(await page.evaluate(async (id) => (await fetch(`/api/requests/${id}`)).text(), firstId)).record.outcome.result.output_sha256;
  const png = await page.evaluate(async (sha) => Array.from(new Uint8Array(await (await fetch(`/api/blobs/${sha}`)).arrayBuffer())), firstSha);
  const pngPath = `${outDir}/seven-from-ddpm.png`;
  writeFileSync(pngPath, Buffer.from(png));
  await page.locator("input[name=tensor-file]").setInputFiles(pngPath);
  await page.waitForFunction(() => /256 bytes from seven-from-ddpm\.png, scaled to 8×8/.test(document.querySelector("[data-testid=tensor-note]")?.textContent ?? ""), null, { timeout: TIMEOUT }).catch(async () => fail(`tensor: after the upload the note says ${JSON.stringify(await tensorNote.innerText())}`));
  await shot(page, "ask-tensor");
  const tensorSubmit = await submit();
  const tensorRun = await follow(tensorSubmit.t, "timeline-tensor-progress", "chart");
  timings.tensor_submit_to_verified_ms = tensorRun.seen.verified_ms;
  const caption = await page.locator("figure.chart figcaption").innerText();
  if (!/largest: index 7 /.test(caption)) fail(`tensor: digits-cnn did not answer 7 for the uploaded 7: ${caption}`);
  console.log(`tensor_request ${tensorSubmit.url.match(/#\/requests\/(\d+)/)[1]}: ${caption}`);
  await shot(page, "request-tensor-done");

  // A private output: the prompt sealed to the executors and the output
  // sealed to a key this page makes and keeps; only this browser opens it.
  await askSealedSeven();
  await page.locator("input[name=private-output]").check();
  await shot(page, "ask-private-output");
  const privateSubmit = await submit();
  const privateId = privateSubmit.url.match(/#\/requests\/(\d+)/)[1];
  const privateRun = await follow(privateSubmit.t, "timeline-private-progress");
  timings.private_submit_to_verified_ms = privateRun.seen.verified_ms;
  const opened = await page.locator("[data-testid=private-output]").innerText();
  if (!/opened in this browser/.test(opened)) fail(`private output: the page says ${JSON.stringify(opened)}`);
  await shot(page, "request-private-output");
  // Another browser (no key): the ciphertext verifies, nothing opens.
  const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const op = await other.newPage();
  op.setDefaultTimeout(TIMEOUT);
  await op.goto(privateSubmit.url.replace(/\?.*$/, ""), { waitUntil: "load" });
  await op.locator("[data-testid=verification]").waitFor();
  const elsewhere = await op.locator("[data-testid=private-output]").innerText();
  if (!/this browser does not hold it/.test(elsewhere) || (await op.locator("img.output-image").count()) > 0)
    fail(`private output in another browser: ${JSON.stringify(elsewhere)}`);
  await shot(op, "request-private-elsewhere");
  await other.close();
  console.log(`private_request ${privateId}`);

  // Validators: the agreement column.
  await page.goto(`${base}/#/validators`, { waitUntil: "load" });
  const agreement = page.locator("[data-testid=agreement]").first();
  await agreement.waitFor();
  console.log(`validators: agreement ${JSON.stringify(await agreement.innerText())}`);
  await shot(page, "validators");

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
