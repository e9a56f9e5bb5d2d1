// What the real-browser scripts share: Debian's Chromium started headless
// by playwright-core with the flags this machine's closed network needs
// (no background networking or component updates), one desktop-sized page
// that records page errors and console errors, and full-page screenshots
// into an output directory.
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Opens the browser and one page; `timeout` is every action's default. */
export async function open(outDir, timeout) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  const problems = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
  const shot = async (p, name) => {
    const file = join(outDir, `${name}.png`);
    await p.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
  };
  return { browser, page, problems, shot };
}
