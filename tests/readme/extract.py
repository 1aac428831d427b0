"""Turns README.md's examples into one bash script (see run.sh): each ```sh block as it is,
each ```graphql block as a request with $TOKEN, each announced with its line number."""
import re
import sys

PRELUDE = r'''set -euo pipefail
# Each block's output goes to a file; a failing block's is shown with where it stands.
exec 3>&1 4>&2
BLOCK=
trap 'status=$?; if [ $status -ne 0 ] && [ -n "$BLOCK" ]; then echo "FAILED: the block at $BLOCK (exit $status); its output:" >&4; cat block.out >&4; fi' EXIT
# curl as the README writes it, but failing on an HTTP error status or a GraphQL error.
curl() {
  local out status
  out=$(command curl -sS -w '\n%{http_code}' "$@") || { echo "curl $* failed" >&2; return 1; }
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  printf '%s\n' "$out"
  if [ "$status" -ge 400 ]; then
    echo "HTTP $status from curl $*" >&2
    return 1
  fi
  case "$*" in
    */graphql*) if printf '%s' "$out" | grep -q '"errors"'; then
        echo "GraphQL errors from curl $*" >&2
        return 1
      fi ;;
  esac
}
# The token GraphiQL's Headers tab holds (a `--demo` member's), for documents the README runs
# in GraphiQL before any block sets $TOKEN.
GRAPHIQL_TOKEN=$(command curl -sS http://127.0.0.1:8080/graphiql | grep -o 'sgt_[A-Za-z0-9_]*' | head -n1)
[ -n "$GRAPHIQL_TOKEN" ] || { echo "GraphiQL holds no token" >&2; exit 1; }
graphql() { # document
  local body
  body=$(jq -n --arg q "$1" '{query: $q}')
  curl http://127.0.0.1:8080/graphql -H "Authorization: Bearer ${TOKEN:-$GRAPHIQL_TOKEN}" \
    -H 'Content-Type: application/json' -d "$body"
}
'''


def blocks(text):
    lines = text.split("\n")
    i, skip = 0, None
    while i < len(lines):
        line = lines[i]
        if line.strip() == "<!-- end of the examples -->":
            return
        m = re.match(r"<!-- not run: (.+) -->", line.strip())
        if m:
            skip = m.group(1)
            i += 1
            continue
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            lang, start, body = fence.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield lang, start, "\n".join(body), skip
            skip = None
        elif line.strip():
            skip = None
        i += 1


def main():
    text = open(sys.argv[1]).read()
    out = [PRELUDE]
    run = skipped = 0
    for lang, line, body, skip in blocks(text):
        if lang not in ("sh", "graphql"):
            continue
        where = f"README.md:{line}"
        if skip:
            out.append(f"echo '-- {where}: not run ({skip})' >&3")
            skipped += 1
            continue
        if lang == "graphql" and body.lstrip().startswith("subscription"):
            out.append(f"echo '-- {where}: not run (a subscription needs a WebSocket)' >&3")
            skipped += 1
            continue
        out.append(f"BLOCK={where}; echo '== {where}' >&3; exec >block.out 2>&1")
        if lang == "sh":
            out.append(body)
        else:
            out.append(f"graphql \"$(cat <<'GRAPHQL'\n{body}\nGRAPHQL\n)\" > /dev/null")
        run += 1
    if run == 0:
        sys.exit("no examples found in the README")
    out.append("BLOCK=")
    out.append(f"echo 'README examples: {run} run, {skipped} not run, all answered as expected' >&3")
    print("\n".join(out))


main()
