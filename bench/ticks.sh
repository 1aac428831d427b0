# CPU time read from /proc, in clock ticks (sourced by bench/cpu.sh and bench/compare.sh).
#
#   ticks PID        the process's own user + system time
#   tree_ticks PID   the process, its living children (PostGraphile's cluster workers), and the
#                    children it has reaped
#   pg_ticks         every PostgreSQL process, plus what the backends that have exited used
#   hz               ticks per second

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

tree_ticks() {
  local t c
  t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0)
  for c in $(pgrep -P "$1" || true); do
    t=$((t + $(tree_ticks "$c")))
  done
  echo "$t"
}

# The postmaster reaps the backends, so a backend the pool closed during the run has its CPU
# time in the postmaster's children's times (fields 16 and 17); without them the difference
# could come out negative. 0 without PostgreSQL.
pg_ticks() {
  local t=0 p parents=
  for p in $(pgrep -f '^postgres: ' || true); do
    t=$((t + $(ticks "$p" 2>/dev/null || echo 0)))
    parents="$parents $(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)"
  done
  for p in $(printf '%s\n' $parents | sort -u); do
    t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

hz=$(getconf CLK_TCK)
