#!/usr/bin/env bash
# Fetches the GraphiQL page's JavaScript and CSS from the npm registry into graphiql/vendor/,
# so the server can embed them at build time and GraphiQL works with no internet access.
# Without them the build still succeeds and the page loads the same files from a CDN.
# Versions are pinned; `npm pack` checks each tarball against the registry's integrity hash.
set -euo pipefail
cd "$(dirname "$0")"
GRAPHIQL=3.9.0
REACT=18.3.1
if [ -f vendor/VERSIONS ] && [ "$(cat vendor/VERSIONS)" = "graphiql@$GRAPHIQL react@$REACT" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
mkdir -p vendor
tar -xzf "$tmp/graphiql-$GRAPHIQL.tgz" -C "$tmp" package/graphiql.min.js package/graphiql.min.css
mv "$tmp/package/graphiql.min.js" "$tmp/package/graphiql.min.css" vendor/
rm -rf "$tmp/package"
tar -xzf "$tmp/react-$REACT.tgz" -C "$tmp" package/umd/react.production.min.js
mv "$tmp/package/umd/react.production.min.js" vendor/
rm -rf "$tmp/package"
tar -xzf "$tmp/react-dom-$REACT.tgz" -C "$tmp" package/umd/react-dom.production.min.js
mv "$tmp/package/umd/react-dom.production.min.js" vendor/
echo "graphiql@$GRAPHIQL react@$REACT" > vendor/VERSIONS
echo "GraphiQL assets in graphiql/vendor: $(cat vendor/VERSIONS)"
