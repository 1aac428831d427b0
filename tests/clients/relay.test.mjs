// Relay against a running stepgraph: the operation texts relay-compiler generated from the
// documents in relay/ (refetch through Query.node, pagination of Sequence.sequenceSteps and of
// the root sequenceSteps, a mutation), sent with the variables Relay sends, must answer the
// right rows. STEPGRAPH_URL and TOKEN (a member's) come from run.sh.
import assert from "node:assert/strict";
import { check, finish } from "./checks.mjs";

const artifact = async (name) => (await import(`./relay/__generated__/${name}.graphql.js`)).default;
const url = `${process.env.STEPGRAPH_URL}/graphql`;
const token = process.env.TOKEN;

async function post(query, variables) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

// What Relay sends for an operation: its generated text, under its name.
async function run(name, variables) {
  const { params } = await artifact(name);
  assert.equal(params.name, name);
  return post(params.text, variables);
}

const ids = (connection) => connection.edges.map((e) => e.node.id);

const first = await run("AllStepsQuery", {});
const firstPage = first.sequenceSteps;
const sequence = first.sequences.nodes[0];

await check("the root connection's first page (AllStepsQuery)", async () => {
  assert.equal(firstPage.edges.length, 4);
  assert.equal(firstPage.pageInfo.hasNextPage, true);
  for (const e of firstPage.edges) {
    assert.ok(e.cursor && e.node.nodeId && e.node.__typename === "SequenceStep", JSON.stringify(e));
  }
});

await check("the root connection's next page (AllStepsPaginationQuery, the way usePaginationFragment loads more)", async () => {
  const next = await run("AllStepsPaginationQuery", { count: 4, cursor: firstPage.pageInfo.endCursor });
  const plain = await post("{ sequenceSteps(first: 8) { nodes { id } } }", {});
  assert.deepEqual(
    [...ids(firstPage), ...ids(next.sequenceSteps)],
    plain.sequenceSteps.nodes.map((n) => n.id),
  );
});

await check("a sequence's steps, page by page through Query.node (SequenceStepsPaginationQuery)", async () => {
  const want = await post(
    "query($n: ID!) { node(id: $n) { ... on Sequence { sequenceSteps(orderBy: [{field: ORDER}]) { nodes { id } } } } }",
    { n: sequence.nodeId },
  );
  const expected = want.node.sequenceSteps.nodes.map((n) => n.id);
  assert.ok(expected.length > 3, `the first sequence has ${expected.length} steps`);
  let got = [];
  let cursor = null;
  for (let pages = 0; pages < 10; pages++) {
    const data = await run("SequenceStepsPaginationQuery", { count: 3, cursor, nodeId: sequence.nodeId });
    assert.equal(data.node.__typename, "Sequence");
    assert.equal(data.node.nodeId, sequence.nodeId);
    got = got.concat(ids(data.node.sequenceSteps));
    if (!data.node.sequenceSteps.pageInfo.hasNextPage) break;
    cursor = data.node.sequenceSteps.pageInfo.endCursor;
  }
  assert.deepEqual(got, expected);
});

const step = firstPage.edges.map((e) => e.node).find((n) => n.canWrite && n.interval !== null);

await check("a step refetched by its nodeId (StepCardRefetchQuery)", async () => {
  const data = await run("StepCardRefetchQuery", { nodeId: step.nodeId });
  assert.equal(data.node.__typename, "SequenceStep");
  assert.equal(data.node.id, step.id);
  assert.equal(data.node.nodeId, step.nodeId);
});

await check("a mutation, then the refetch sees it (UpdateStepMutation)", async () => {
  const interval = step.interval + 60;
  const data = await run("UpdateStepMutation", { id: step.id, input: { interval } });
  assert.equal(data.updateSequenceStep.nodeId, step.nodeId);
  assert.equal(data.updateSequenceStep.interval, interval);
  const again = await run("StepCardRefetchQuery", { nodeId: step.nodeId });
  assert.equal(again.node.interval, interval);
});

await check("an id this server did not make refetches null, without an error", async () => {
  const data = await run("StepCardRefetchQuery", { nodeId: "not-a-node-id" });
  assert.equal(data.node, null);
});

finish("relay");
