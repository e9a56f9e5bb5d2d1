#!/usr/bin/env node
// Real-browser check of one Job page (e2e/tests/web_pages.rs runs it for the
// outputs that are not images): waits for the "verified" badge and checks
// the output is shown as what it is. Screenshot `job-JOB-KIND`.
//
//   node relayer/web/tests/job.mjs BASE_URL OUT_DIR JOB_ID text|chart
//
// text: the output as text (tiny-lm's continuation); chart: a tensor as a
// bar chart with its largest index (an embedding: its first 64 values).
// Prints `job ID KIND: WHAT` and exits 1 with one line on failure.
import { mkdirSync } from "node:fs";
import { open } from "./chromium.mjs";

const [base, outDir, id, kind] = process.argv.slice(2);
if (!base || !outDir || !/^\d+$/.test(id ?? "") || !["text", "chart"].includes(kind)) {
  console.error("usage: job.mjs BASE_URL OUT_DIR JOB_ID text|chart");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
const { browser, page, problems, shot } = await open(outDir, 30_000);
try {
  await page.goto(`${base}/#/jobs/${id}`, { waitUntil: "load" });
  const badge = page.locator("[data-testid=verification]");
  await badge.waitFor();
  const said = (await badge.innerText()).toLowerCase();
  if (!said.includes("verified") || said.includes("failed")) throw new Error(`job ${id}: the badge says ${JSON.stringify(said)}`);
  let what;
  if (kind === "text") {
    const pre = page.locator("pre.output-text");
    await pre.waitFor();
    what = await pre.innerText();
    if (!what.trim()) throw new Error(`job ${id}: the output text is empty`);
    if (/\uFFFD/.test(what)) throw new Error(`job ${id}: the output text has replacement characters: ${JSON.stringify(what)}`);
  } else {
    await page.locator("figure.chart svg[role=img]").waitFor();
    what = await page.locator("figure.chart figcaption").innerText();
    if (!/largest: index \d+/.test(what)) throw new Error(`job ${id}: the chart says ${JSON.stringify(what)}`);
  }
  console.log(`job ${id} ${kind}: ${JSON.stringify(what.slice(0, 200))}`);
  await shot(page, `job-${id}-${kind}`);
  if (problems.length) throw new Error(problems.join("; "));
} catch (e) {
  console.error(`job check failed: ${e.message.split("\n")[0]}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
