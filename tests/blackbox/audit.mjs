// The GraphQL-over-HTTP audit (graphql-http's auditServer) against a running server, with a
// bearer token: prints every audit and fails on any MUST that does not pass.
//
//   node tests/blackbox/audit.mjs URL TOKEN
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
let failedMust = 0;
const counts = { ok: 0, warn: 0, error: 0 };
for (const r of results) {
  counts[r.status] = (counts[r.status] ?? 0) + 1;
  if (r.status !== 'ok') {
    console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}`);
  }
  if (r.status === 'error') failedMust += 1;
}
console.log(`graphql-http audit: ${results.length} audits, ${counts.ok} ok, ${counts.warn} warnings (SHOULD), ${counts.error} errors (MUST)`);
process.exit(failedMust ? 1 : 0);
