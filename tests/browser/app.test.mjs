// The example app (examples/web) in headless Chromium against `stepgraph serve --demo
// --only-trusted-documents`, every request outside the two local servers refused: sign in
// with a token, page through the sequences, open one and see its steps in order with their
// bars, change a step's interval and order, be told of a conflict when a second client
// wrote first (and find the second client's change kept), watch a bar grow as a mailing
// event arrives (no reload), delete a step. Fails on any console error, page error, failed
// request or HTTP error, and on any GraphQL request that carries a document's text.
//
// Usage: STEPGRAPH_URL=... APP_URL=... TOKEN=<Mia's> INGEST=<an admin's ingest token>
//        SCREENSHOT=path.png node app.test.mjs
import { launch, tally } from "./harness.mjs";

const api = process.env.STEPGRAPH_URL;
const app = process.env.APP_URL;
const token = process.env.TOKEN;
const ingest = process.env.INGEST;
if (!api || !app || !token || !ingest) {
  console.error("set STEPGRAPH_URL, APP_URL, TOKEN and INGEST");
  process.exit(2);
}
const { check, done } = tally();

// The second client: where only trusted documents run it, too, sends the app's own documents
// by their ids (as the app sent them, recorded below).
async function gql(documentId, variables) {
  const res = await fetch(`${api}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ documentId, variables }),
  });
  return res.json();
}

const browser = await launch();
const problems = [];
const documents = new Map();
const sentText = [];
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
  const local = [new URL(api).origin, new URL(app).origin];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (local.some((o) => url.startsWith(o))) return route.continue();
    problems.push(`request outside the test: ${url}`);
    return route.abort();
  });
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e}`));
  page.on("requestfailed", (r) => {
    // A request the app itself cancels (urql tears down a query it runs again) is not a
    // failure; anything else is.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") {
      problems.push(`failed request: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  // Every GraphQL request the page sends, over POST or GET: its document must travel as a
  // hash only; the ids are kept for the second client below.
  page.on("request", (r) => {
    if (!r.url().startsWith(`${api}/graphql`)) return;
    let ops;
    if (r.method() === "POST") {
      const body = r.postDataJSON();
      ops = Array.isArray(body) ? body : [body];
    } else {
      const q = new URL(r.url()).searchParams;
      ops = [{ query: q.get("query"), operationName: q.get("operationName"), extensions: JSON.parse(q.get("extensions") ?? "{}") }];
    }
    for (const op of ops) {
      if (op.query) sentText.push(op.query.slice(0, 80));
      const hash = op.extensions?.persistedQuery?.sha256Hash;
      if (hash && op.operationName) documents.set(op.operationName, `sha256:${hash}`);
    }
  });

  // Sign in.
  await page.goto(app, { waitUntil: "load" });
  await page.fill("input[name=token]", token);
  await page.click("button[type=submit]");
  await page.waitForSelector("[data-testid=total]");
  check("signed in: the list shows how many sequences Mia can see", /\d+ sequences/.test(await page.textContent("[data-testid=total]")));

  // Page through the sequences.
  const names = async () => page.locator("[data-testid=sequence]").allTextContents();
  const first = await names();
  await page.click("[data-testid=next]");
  await page.waitForFunction((before) => {
    const now = [...document.querySelectorAll("[data-testid=sequence]")].map((e) => e.textContent);
    return now.length > 0 && now.join() !== before;
  }, first.join());
  const second = await names();
  check("Next shows the next page", second.length > 0 && second.every((n) => !first.includes(n)), `${first} / ${second}`);
  await page.click("[data-testid=previous]");
  await page.waitForFunction((want) => [...document.querySelectorAll("[data-testid=sequence]")].map((e) => e.textContent).join() === want, first.join());
  check("Previous comes back to the first page", (await names()).join() === first.join());

  // Open Mia's interval sequence.
  await page.click("[data-testid=sequence] >> text=Mid-market outbound Q4");
  await page.waitForSelector("[data-testid=step]");
  await page.waitForSelector("[data-testid=live]:has-text('live')");
  const orders = await page.locator("[data-testid=step] .order").allTextContents();
  check("the steps are listed in order", orders.length >= 3 && orders.every((o, i) => Number(o) === i + 1), orders.join());
  const bars = await page.locator("[data-testid=step]").first().locator(".bar").count();
  check("each step has its four bars", bars === 4);

  const stepIds = async () => page.locator("[data-testid=step]").evaluateAll((els) => els.map((e) => e.dataset.stepId));
  const row = (id) => page.locator(`[data-testid=step][data-step-id="${id}"]`);
  const [a, b] = await stepIds();

  // Change the first step's interval.
  const interval = String(Number(await row(a).locator("[data-testid=interval]").inputValue()) + 600);
  await row(a).locator("[data-testid=interval]").fill(interval);
  // Wait for the save's answer, not only for the field: the input shows the typed value at
  // once, and a next save sent before this one's answer names the version before it
  // (`expectedUpdatedAt`) and is refused as a conflict.
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/graphql") && (r.request().postData() ?? "").includes("UpdateStep")),
    row(a).locator("[data-testid=save]").click(),
  ]);
  await page.waitForFunction(([id, v]) => document.querySelector(`[data-step-id="${id}"] [data-testid=interval]`)?.value === v && !document.querySelector(`[data-step-id="${id}"] [role=alert]`), [a, interval]);
  check("a step's interval is saved", true);

  // Move it to second place.
  await row(a).locator("[data-testid=order]").fill("2");
  await row(a).locator("[data-testid=save]").click();
  await page.waitForFunction(([x, y]) => {
    const ids = [...document.querySelectorAll("[data-testid=step]")].map((e) => e.dataset.stepId);
    return ids[0] === y && ids[1] === x;
  }, [a, b]);
  check("a step moved to second place is shown there", true);

  // Conflict: the user edits, a second client writes first, the user saves.
  const mine = String(Number(await row(b).locator("[data-testid=interval]").inputValue()) + 60);
  await row(b).locator("[data-testid=interval]").fill(mine);
  const theirs = Number(mine) + 3600;
  const update = documents.get("UpdateStep");
  const written = await gql(update, { id: b, input: { interval: theirs } });
  check("the second client's write is accepted", written.data?.updateSequenceStep?.interval === theirs, JSON.stringify(written));
  await row(b).locator("[data-testid=save]").click();
  await row(b).locator("[data-testid=conflict]").waitFor({ timeout: 10000 });
  check("the conflict is shown, not a silent overwrite", (await row(b).locator("[data-testid=conflict]").textContent()).includes("Someone else changed this step"));
  const kept = await gql(documents.get("Sequence"), { id: "1" });
  const now = kept.data.sequence.sequenceSteps.nodes.find((s) => s.id === b);
  check("the second client's change is kept", now.interval === theirs, JSON.stringify(now));
  await row(b).locator("[data-testid=reload]").click();
  check("Reload shows their value", (await row(b).locator("[data-testid=interval]").inputValue()) === String(theirs));

  // Live: a mailing event makes a bar of its step grow: `delivered` for a mailing not yet
  // delivered, else `opened` for one not yet opened (a counter counts mailings, so an event
  // that changes no mailing's state moves nothing).
  const target = (await stepIds())[0];
  const listed = await fetch(`${api}/api/v2/mailings?filter[sequenceStep][id]=${target}&page[size]=100`, {
    headers: { authorization: `Bearer ${token}` },
  }).then((r) => r.json());
  const fresh = listed.data.find((m) => m.attributes.deliveredAt === null);
  const unopened = listed.data.find((m) => m.attributes.deliveredAt !== null && m.attributes.openedAt === null);
  const [mailing, type, label] = fresh ? [fresh, "delivered", "delivered"] : [unopened, "opened", "opened"];
  check("the step has a mailing to send an event for", Boolean(mailing), JSON.stringify(listed).slice(0, 200));
  const bar = row(target).locator(`[data-testid=bar-${label}]`);
  const before = Number(await bar.getAttribute("data-value"));
  const sent = await fetch(`${api}/events/mailings`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ingest}` },
    body: JSON.stringify({
      events: [
        { idempotencyKey: `browser-${Date.now()}`, mailingId: Number(mailing.id), type, occurredAt: new Date().toISOString() },
      ],
    }),
  }).then((r) => r.json());
  const applied = sent.results?.[0]?.status === "applied";
  await page
    .waitForFunction(
      ([id, l, v]) => Number(document.querySelector(`[data-step-id="${id}"] [data-testid=bar-${l}]`)?.dataset.value) > v,
      [target, label, before],
      { timeout: 10000 },
    )
    .catch(() => {});
  const after = Number(await bar.getAttribute("data-value"));
  check(`the ${label} bar grows live, without a reload`, applied && after === before + 1, `event ${JSON.stringify(sent)}; ${before} -> ${after}`);

  await page.screenshot({ path: process.env.SCREENSHOT || "app.png", fullPage: true });

  // Delete a step.
  const count = await page.locator("[data-testid=step]").count();
  const last = (await stepIds()).at(-1);
  await row(last).locator("[data-testid=delete]").click();
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=step]").length === n - 1, count);
  check("a deleted step disappears", (await stepIds()).every((id) => id !== last));

  check("the app sent no document text, only persisted hashes", sentText.length === 0 && documents.size >= 4, JSON.stringify(sentText));
  check("no console error, page error, failed request or HTTP error", problems.length === 0, JSON.stringify(problems));
} catch (e) {
  check("the walk ran to its end", false, `${e.stack ?? e}; problems: ${JSON.stringify(problems)}`);
} finally {
  await browser.close();
}
done();
