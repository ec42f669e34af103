# Helpers for tests against tests/services/fake_quotes.py (source after common.sh).
# start_fake ARGS...: starts the fake, sets U to its base URL.
start_fake() {
  rm -f "$T/fake.port"
  $PY "$SW_SRC/tests/services/fake_quotes.py" --port-file "$T/fake.port" "$@" 2> "$T/fake.err" &
  local pid=$!
  on_exit "kill $pid"
  wait_for "the fake quote server" 20 test -s "$T/fake.port"
  U="http://127.0.0.1:$(cat "$T/fake.port")"
}
stats() { curl -s "$U/_stats" | jq -c "$1"; }
reset() { curl -s -X POST "$U/_reset" > /dev/null; }
config() { curl -s -X POST -d "$1" "$U/_config" > /dev/null; }
