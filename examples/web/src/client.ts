// The urql client: queries and mutations go as persisted documents only (their SHA-256 from
// graphql-codegen, never their text), subscriptions over graphql-ws the same way, so the app
// runs against `stepgraph serve --only-trusted-documents`.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import { persistedExchange } from "@urql/exchange-persisted";
import { createClient as createWsClient } from "graphql-ws";
import type { DocumentNode } from "graphql";

/** Where stepgraph runs; `VITE_STEPGRAPH_URL` at build time, else the demo's address. */
export const API: string = import.meta.env.VITE_STEPGRAPH_URL ?? "http://127.0.0.1:8080";

/** The SHA-256 (hex) graphql-codegen gave a document: its `__meta__.hash` is the manifest's
 * key, `sha256:<hex>`; the persisted-query extension takes the hex alone. */
function hashOf(document: DocumentNode): string {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!hash) {
    throw new Error("a document without a persisted hash: run `npm run codegen`");
  }
  return hash.replace(/^sha256:/, "");
}

export function makeClient(token: string): Client {
  const ws = createWsClient({
    url: `${API.replace(/^http/, "ws")}/graphql`,
    connectionParams: { Authorization: `Bearer ${token}` },
  });
  return new Client({
    url: `${API}/graphql`,
    fetchOptions: { headers: { Authorization: `Bearer ${token}` } },
    // Lists and pages are read fresh; the live subscription keeps the counters moving.
    requestPolicy: "network-only",
    exchanges: [
      cacheExchange,
      persistedExchange({
        enforcePersistedQueries: true,
        enableForMutation: true,
        generateHash: async (_query, document) => hashOf(document),
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request, operation) => ({
          subscribe: (sink) => ({
            unsubscribe: ws.subscribe(
              {
                query: "",
                operationName: request.operationName,
                variables: request.variables,
                extensions: {
                  persistedQuery: { version: 1, sha256Hash: hashOf(operation.query) },
                },
              },
              sink,
            ),
          }),
        }),
      }),
    ],
  });
}
