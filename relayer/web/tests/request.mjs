#!/usr/bin/env node
// Real-browser check of one request page settling (e2e/tests/web_ask.rs
// uses it for a request whose packet timed out while the relayer was
// stopped): opens BASE_URL/#/requests/ID, waits until the timeline is
// finished, and checks the status the contract recorded and what the page
// says about it. Screenshot `request-STATUS`.
//
//   node relayer/web/tests/request.mjs BASE_URL OUT_DIR ID STATUS
//
// STATUS: succeeded | failed | timed_out. Exits 1 with one line on failure.
import { mkdirSync } from "node:fs";
import { open } from "./chromium.mjs";

const [base, outDir, id, want] = process.argv.slice(2);
if (!base || !outDir || !/^\d+$/.test(id ?? "") || !["succeeded", "failed", "timed_out"].includes(want)) {
  console.error("usage: request.mjs BASE_URL OUT_DIR ID succeeded|failed|timed_out");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const { browser, page, problems, shot } = await open(outDir, 30_000);
try {
  await page.goto(`${base}/#/requests/${id}`, { waitUntil: "load" });
  // The page re-reads the request every second until it is settled.
  await page.locator("ol.timeline[data-finished=true]").waitFor({ timeout: 180_000 });
  const status = await page.locator("[data-testid=request-status]").innerText();
  if (status !== want.replace("_", " ")) throw new Error(`request ${id}: status ${status}, expected ${want.replace("_", " ")}`);
  const steps = await page.$$eval("ol.timeline li", (els) => els.map((e) => [e.dataset.step, e.dataset.state, e.innerText.split("\n")[0]]));
  if (want === "timed_out") {
    // The packet never reached chimerad: no job, the timeout step on Terra,
    // and the refund said in words.
    const last = steps[steps.length - 1];
    if (!/Timed out on Terra Classic/.test(last[2])) throw new Error(`request ${id}: the last step is ${JSON.stringify(last)}`);
    const said = await page.locator("main [role=status]").innerText();
    if (!/timed out before chimerad received it; the fee went back to the requester/.test(said)) throw new Error(`request ${id}: the page says ${JSON.stringify(said)}`);
    if ((await page.locator("[data-testid=verification]").count()) > 0) throw new Error(`request ${id}: a timed-out request shows an output`);
  }
  console.log(`request ${id}: ${status}; steps ${JSON.stringify(steps.map(([k, s]) => `${k}:${s}`))}`);
  await shot(page, `request-${want}`);
  if (problems.length) throw new Error(problems.join("; "));
  console.log("request check passed");
} catch (e) {
  console.error(`request check failed: ${e.message.split("\n")[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
