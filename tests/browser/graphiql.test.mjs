// Opens GraphiQL in headless Chromium against a running stepgraph (started with --demo, so
// the page comes with a member's token in its Headers editor), with every request to any
// host but the server refused, runs the default query and checks the result is shown.
//
// Usage: STEPGRAPH_URL=http://127.0.0.1:PORT node graphiql.test.mjs
// Prints "N passed, N failed" and exits non-zero on failure.
import { chromium } from "playwright-core";

const base = process.env.STEPGRAPH_URL;
if (!base) {
  console.error("set STEPGRAPH_URL to the server's address");
  process.exit(2);
}
const origin = new URL(base).origin;
let passed = 0;
let failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`not ok - ${name} ${detail}`);
  }
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage();
  const outside = [];
  // No internet: anything not served by stepgraph itself is refused and recorded.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  await page.goto(`${base}/graphiql`, { waitUntil: "load" });
  const run = page.locator(".graphiql-execute-button");
  await run.waitFor({ state: "visible", timeout: 20000 });
  check("GraphiQL renders from local assets", await run.isVisible());

  await run.click();
  // Read the result through CodeMirror's API: its DOM only holds the lines in view.
  const resultText = () =>
    page.evaluate(() => {
      const cm = document.querySelector(".graphiql-response .CodeMirror");
      return cm && cm.CodeMirror ? cm.CodeMirror.getValue() : "";
    });
  await page.waitForFunction(
    () => {
      const cm = document.querySelector(".graphiql-response .CodeMirror");
      return Boolean(cm && cm.CodeMirror && cm.CodeMirror.getValue().includes("displayName"));
    },
    null,
    { timeout: 20000 },
  );
  const text = await resultText();
  check("the query runs with the token and its result is shown", text.includes("Mia Member") && text.includes("Step #"), text.slice(0, 300));
  check("no error is shown", !text.includes("UNAUTHENTICATED") && !text.includes("\"errors\""), text.slice(0, 300));
  check("nothing was fetched from outside the server", outside.length === 0, outside.join(", "));
  check("no script errors", errors.length === 0, errors.join("; "));
  await page.screenshot({ path: process.env.SCREENSHOT || "graphiql.png" });
} catch (e) {
  check("browser session", false, String(e));
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
