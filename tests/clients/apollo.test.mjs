// Apollo Client's real persisted-queries link against a running stepgraph: hash first, the
// document only when the server asks for it (PERSISTED_QUERY_NOT_FOUND), over POST and GET,
// and hash-only from then on. Every request the link makes is recorded, so the test sees the
// exchange itself, not only the answer. STEPGRAPH_URL and TOKEN come from run.sh.
import assert from "node:assert/strict";
import { check, finish } from "./checks.mjs";
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const uri = `${process.env.STEPGRAPH_URL}/graphql`;
const authorization = `Bearer ${process.env.TOKEN}`;
const sha256 = (text) => createHash("sha256").update(text).digest("hex");


// A fresh client (empty cache) whose requests land in `sent`.
function client(sent, useGETForHashedQueries) {
  const fetchAndRecord = async (url, options) => {
    const u = new URL(String(url));
    const body = options.body ? JSON.parse(options.body) : null;
    const sentQuery = body?.query ?? u.searchParams.get("query");
    const extensions = body?.extensions ?? JSON.parse(u.searchParams.get("extensions") ?? "null");
    const res = await fetch(url, options);
    const answer = await res.clone().json();
    sent.push({ method: options.method, query: sentQuery, extensions, status: res.status, answer });
    return res;
  };
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
    new HttpLink({ uri, headers: { authorization }, fetch: fetchAndRecord }),
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

async function plain(query) {
  const res = await fetch(uri, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ query }),
  });
  return (await res.json()).data;
}

for (const [method, useGET] of [["POST", false], ["GET", true]]) {
  const query = gql`
    query ApqSteps${method} {
      sequenceSteps(first: 3) { nodes { id displayName order } }
    }
  `;
  await check(`${method}: the first query goes hash first, then with its document`, async () => {
    const sent = [];
    const { data } = await client(sent, useGET).query({ query });
    assert.equal(sent.length, 2, JSON.stringify(sent, null, 1));
    assert.equal(sent[0].method, method);
    assert.equal(sent[0].query, null, "the first request carries no document");
    assert.equal(sent[0].extensions.persistedQuery.version, 1);
    assert.equal(sent[0].answer.errors[0].extensions.code, "PERSISTED_QUERY_NOT_FOUND");
    assert.ok(sent[1].query.includes(`ApqSteps${method}`), "the retry carries the document");
    assert.equal(sent[1].extensions.persistedQuery.sha256Hash, sha256(sent[1].query));
    const expected = await plain(sent[1].query);
    assert.deepEqual(
      data.sequenceSteps.nodes.map((n) => n.id),
      expected.sequenceSteps.nodes.map((n) => n.id),
    );
    assert.equal(data.sequenceSteps.nodes.length, 3);
  });
  await check(`${method}: a second client is answered from the hash alone`, async () => {
    const sent = [];
    const { data } = await client(sent, useGET).query({ query });
    assert.equal(sent.length, 1, JSON.stringify(sent, null, 1));
    assert.equal(sent[0].query, null);
    assert.equal(sent[0].status, 200);
    assert.equal(data.sequenceSteps.nodes.length, 3);
  });
}

finish("apollo");
