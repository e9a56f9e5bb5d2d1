// What the real-browser scripts share about a request page
// (pages/Request.tsx): following its timeline from submit to the verified
// output and the acknowledgement's tx on Terra, on either route.

const fail = (msg) => {
  throw new Error(msg);
};

/** Follows the request page open in `page` from submit time `t0` (page
 *  clock, ms) to the verified output and the ack's tx on Terra; returns
 *  when each step first showed as done, the verified and finished times,
 *  and whether the in-progress screenshot `progressName` was taken (once
 *  step `progressAfter` is done and the ack not yet).
 *
 *  opts: `output` "image" (an image that loads) or "chart" (a tensor's
 *  chart); `ackSays` a pattern the ack step must show besides its Terra
 *  height; `waitMs` how long the whole may take. */
export async function followRequest(page, shot, t0, progressName, opts = {}) {
  const { output = "image", ackSays = null, progressAfter = "job", waitMs = 300_000 } = opts;
  const steps = {};
  let progressShot = false;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const states = await page.$$eval("ol.timeline li", (els) => els.map((e) => [e.dataset.step, e.dataset.state]));
    for (const [k, s] of states) if (s === "done" && steps[k] === undefined) steps[k] = Date.now() - t0;
    if (!progressShot && steps[progressAfter] !== undefined && steps.ack === undefined) {
      await shot(page, progressName);
      progressShot = true;
    }
    if ((await page.locator("[data-testid=verification]").count()) > 0) break;
    const failed = states.find(([, s]) => s === "failed");
    if (failed) fail(`timeline: step ${failed[0]} failed: ${await page.locator(`li[data-step="${failed[0]}"]`).innerText()}`);
    // (allInnerTexts does not wait for an alert that went away.) The packet
    // may not be indexed on Terra the very first poll.
    for (const text of await page.locator("main .error[role=alert]").allInnerTexts()) {
      if (!/Timed out\?|not found|\(yet\)/.test(text)) fail(`request page: ${text}`);
    }
    if (Date.now() > deadline) fail(`timeline: not finished after ${waitMs / 1000}s (steps done: ${JSON.stringify(steps)})`);
    await page.waitForTimeout(200);
  }
  const text = (await page.locator("[data-testid=verification]").innerText()).toLowerCase();
  if (!text.includes("verified") || text.includes("failed")) fail(`request: expected "verified", the badge says ${JSON.stringify(text)}`);
  if (output === "image") {
    const img = page.locator("img.output-image");
    await img.waitFor();
    if (!(await img.evaluate((el) => el.complete && el.naturalWidth > 0))) fail("request: the output image did not load");
  } else {
    await page.locator("figure.chart").waitFor().catch(() => fail("request: no chart of the output tensor"));
  }
  const verified_ms = Date.now() - t0;
  for (const k of ["terra", "job", "quorum", "ack"]) if (steps[k] === undefined) fail(`timeline: step ${k} never showed as done (${JSON.stringify(steps)})`);
  if (!Object.keys(steps).some((k) => k.startsWith("report-"))) fail("timeline: no validator report shown");
  // Finished once the ack's tx on Terra is found too (its height shown).
  await page.locator("ol.timeline[data-finished=true]").waitFor().catch(() => fail("timeline: not marked finished (the ack's tx on Terra not found)"));
  const finished_ms = Date.now() - t0;
  const ackText = await page.locator('li[data-step="ack"]').innerText();
  if (!/Terra height \d+/.test(ackText) || (ackSays && !ackSays.test(ackText))) fail(`timeline: the ack step says ${JSON.stringify(ackText)}`);
  const status = await page.locator("[data-testid=request-status]").innerText();
  if (status !== "succeeded") fail(`request: status ${status}`);
  return { steps, verified_ms, finished_ms, progressShot };
}
