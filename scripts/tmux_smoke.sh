#!/usr/bin/env bash
# Start the desk under tmux as a person would, then drive it with real key presses:
#   the dashboard is drawn, `y` confirms a proposal, `n` rejects the next, `q` quits cleanly.
#
#   scripts/tmux_smoke.sh            # the real `wsb` on the embedded simulator
#   WSB_SMOKE_CMD="..." scripts/tmux_smoke.sh   # any other command that opens the desk
#
# Exit 0 on success, 77 when tmux is missing (CI: apt-get install -y tmux), 1 on failure.
# Pane captures are left in $WSB_SMOKE_DIR (default: a temp dir) for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v tmux >/dev/null 2>&1; then
  echo "tmux_smoke: tmux is not installed (apt-get install -y tmux)" >&2
  exit 77
fi

WORK="${WSB_SMOKE_DIR:-$(mktemp -d -t wsb-smoke.XXXXXX)}"
mkdir -p "$WORK/config"
SESSION="wsb-smoke-$$"
export WSB_CONFIG_DIR="$WORK/config"
# At --speed 1 the default 300 s confirmation window is 5 real seconds: on a busy machine a
# proposal could expire between the modal drawing and the key arriving. An hour of market time
# (a real minute) keeps the test about keys, not about the machine's load.
export WSB__ENGINE__CONFIRM_TIMEOUT_S="${WSB__ENGINE__CONFIRM_TIMEOUT_S:-3600}"
if [ -x .venv/bin/wsb ]; then WSB=".venv/bin/wsb"; else WSB=".venv/bin/python -c 'from wsb_tui.cli import main; main()'"; fi
CMD="${WSB_SMOKE_CMD:-$WSB --db $WORK/smoke.db --seed 7 --speed 1}"

cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT

snap() { tmux capture-pane -p -t "$SESSION" 2>/dev/null > "$WORK/$1.txt" || true; }

# wait_for NAME REGEX SECONDS: poll the pane until REGEX shows up.
wait_for() {
  local name=$1 pattern=$2 limit=$3 waited=0
  while [ "$waited" -lt $((limit * 10)) ]; do
    if tmux capture-pane -p -t "$SESSION" 2>/dev/null | grep -Eq "$pattern"; then
      snap "$name"
      return 0
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  snap "$name.timeout"
  echo "tmux_smoke: '$pattern' not seen within ${limit}s (pane in $WORK/$name.timeout.txt)" >&2
  return 1
}

tmux new-session -d -s "$SESSION" -x 120 -y 36 "env TERM=xterm-256color $CMD; echo \$? > $WORK/exit_code"

wait_for dashboard 'Positions.*Risk|Positions \(' 40
grep -q 'SIM' "$WORK/dashboard.txt" || { echo "tmux_smoke: no SIM badge drawn" >&2; exit 1; }

# A proposal opens the confirmation modal by itself (confirm gate); y confirms it.
wait_for proposal1 'CONFIRM (LIVE )?TRADE' 90
sleep 0.6  # the modal ignores y/n for a moment after it opens, as a person would read
tmux send-keys -t "$SESSION" y
wait_for confirmed 'confirm [a-z_]+: ' 20

# The next proposal: n rejects it.
wait_for proposal2 'CONFIRM (LIVE )?TRADE' 90
sleep 0.6
tmux send-keys -t "$SESSION" n
wait_for rejected 'reject [a-z_]+: ' 20

# Esc defers whatever proposal is open now (the desk then stops popping them for a while);
# q quits; with open positions the desk asks first, and y answers.
sleep 0.6
tmux send-keys -t "$SESSION" Escape
wait_for dashboard_again 'Proposals \(' 10
sleep 0.3
tmux send-keys -t "$SESSION" q
for _ in $(seq 1 50); do
  [ -f "$WORK/exit_code" ] && break
  if tmux capture-pane -p -t "$SESSION" 2>/dev/null | grep -q 'Quit with open positions'; then
    snap quit_question
    tmux send-keys -t "$SESSION" y
  fi
  sleep 0.2
done
for _ in $(seq 1 150); do [ -f "$WORK/exit_code" ] && break; sleep 0.2; done

if [ ! -f "$WORK/exit_code" ]; then
  snap stuck
  echo "tmux_smoke: the desk did not quit (pane in $WORK/stuck.txt)" >&2
  exit 1
fi
code=$(cat "$WORK/exit_code")
if grep -l 'Traceback' "$WORK"/*.txt >/dev/null 2>&1; then
  echo "tmux_smoke: a traceback was drawn (see $WORK)" >&2
  exit 1
fi
if [ "$code" != 0 ]; then
  echo "tmux_smoke: the desk exited with $code" >&2
  exit 1
fi
echo "tmux_smoke: ok (dashboard drawn, y confirmed, n rejected, q quit cleanly; captures in $WORK)"
