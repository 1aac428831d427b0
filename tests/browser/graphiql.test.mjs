// Opens GraphiQL in headless Chromium against a running stepgraph (started with --demo, so
// the page comes with a member's token in its Headers editor), with every request to any
// host but the server refused: runs the default query and checks the result is shown, types a
// nested `last:` query and checks its pages, runs a subscription and sees a change arrive
// over the WebSocket, and browses the docs explorer (introspection).
//
// Usage: STEPGRAPH_URL=http://127.0.0.1:PORT node graphiql.test.mjs
// Prints "N passed, N failed" and exits non-zero on failure.
import { launch, tally } from "./harness.mjs";

const base = process.env.STEPGRAPH_URL;
if (!base) {
  console.error("set STEPGRAPH_URL to the server's address");
  process.exit(2);
}
const origin = new URL(base).origin;
const { check, done } = tally();

const browser = await launch();
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

  // A nested connection paged from the end, typed into the editor as a user would paste it.
  const nested = `query LastSteps {
  sequences(first: 3, orderBy: [{ field: NAME }]) {
    nodes {
      name
      sequenceSteps(last: 2, orderBy: [{ field: ORDER, direction: ASC }]) {
        totalCount
        pageInfo { hasPreviousPage }
        nodes { order displayName }
      }
    }
  }
}`;
  await page.locator(".graphiql-query-editor .CodeMirror-code").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(nested);
  // GraphiQL picks up the new operation name on a short debounce.
  await page.waitForTimeout(500);
  await run.click();
  await page.waitForFunction(
    () => {
      const cm = document.querySelector(".graphiql-response .CodeMirror");
      return Boolean(cm && cm.CodeMirror && cm.CodeMirror.getValue().includes("hasPreviousPage"));
    },
    null,
    { timeout: 20000 },
  );
  const nestedText = await resultText();
  let nestedOk = false;
  try {
    const body = JSON.parse(nestedText);
    const seqs = body.data.sequences.nodes;
    nestedOk = !body.errors && seqs.length > 0 && seqs.every((s) => {
      const c = s.sequenceSteps;
      const orders = c.nodes.map((n) => n.order);
      // The last two steps, in ascending order, and the page knows what lies before it.
      return orders.length === Math.min(2, c.totalCount)
        && orders.every((o, i) => o === c.totalCount - orders.length + 1 + i)
        && c.pageInfo.hasPreviousPage === (c.totalCount > 2);
    });
  } catch (e) {
    nestedOk = false;
  }
  check("a nested last: page runs and shows each sequence's last steps", nestedOk, nestedText.slice(0, 400));

  // A subscription runs over the WebSocket (GraphiQL sends the headers editor's Authorization
  // as its connection_init payload): start it, change a step over HTTP, see the change.
  const subscription = `subscription Watch {
  sequenceStepChanged { kind id node { displayName taskNote } }
}`;
  await page.locator(".graphiql-query-editor .CodeMirror-code").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(subscription);
  await page.waitForTimeout(500);
  await run.click();
  // Let the subscription reach the server before changing anything.
  await page.waitForTimeout(1000);
  const changed = await page.evaluate(async () => {
    const editors = [...document.querySelectorAll(".CodeMirror")].map((el) => el.CodeMirror.getValue());
    const headers = JSON.parse(editors.find((v) => v.includes("Authorization")));
    const post = async (query, variables) => {
      const res = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: headers.Authorization },
        body: JSON.stringify({ query, variables }),
      });
      return res.json();
    };
    const list = await post("{ sequenceSteps(first: 50) { nodes { id canWrite } } }");
    const step = list.data.sequenceSteps.nodes.find((n) => n.canWrite);
    await post("mutation($id: ID!) { updateSequenceStep(id: $id, input: { taskNote: \"seen live\" }) { id } }", { id: step.id });
    return step.id;
  });
  await page.waitForFunction(
    () => {
      const cm = document.querySelector(".graphiql-response .CodeMirror");
      return Boolean(cm && cm.CodeMirror && cm.CodeMirror.getValue().includes("seen live"));
    },
    null,
    { timeout: 20000 },
  ).catch(() => {});
  const liveText = await resultText();
  check("a subscription runs and shows a change made meanwhile", liveText.includes("UPDATED") && liveText.includes("seen live") && liveText.includes(`"${changed}"`), liveText.slice(0, 300));
  // Stop it (the run button turned into a stop button while it ran).
  await run.click();

  // The documentation explorer is built from introspection: open it and browse to Query.
  await page.locator('button[aria-label="Show Documentation Explorer"]').click();
  const explorer = page.locator(".graphiql-doc-explorer");
  await explorer.waitFor({ state: "visible", timeout: 20000 });
  await explorer.getByText("Query", { exact: true }).first().click();
  await page.waitForFunction(
    () => {
      const el = document.querySelector(".graphiql-doc-explorer");
      return Boolean(el && el.innerText.includes("sequenceTemplates") && el.innerText.includes("taskPriorities"));
    },
    null,
    { timeout: 20000 },
  ).catch(() => {});
  const docs = await explorer.innerText();
  check("the docs explorer lists the root fields", docs.includes("sequenceTemplates") && docs.includes("taskPriorities"), docs.slice(0, 300));

  check("nothing was fetched from outside the server", outside.length === 0, outside.join(", "));
  check("no script errors", errors.length === 0, errors.join("; "));
  await page.screenshot({ path: process.env.SCREENSHOT || "graphiql.png" });
} catch (e) {
  check("browser session", false, String(e));
} finally {
  await browser.close();
}
done();
