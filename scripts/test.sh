#!/usr/bin/env bash
# The whole test suite on a fresh machine: install, lint, format check, types, tests.
# The README's second command and CI's only command.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

# tmux drives the "as a person would" TUI test; install it where we may (CI runs as root).
if ! command -v tmux >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y -q tmux >/dev/null 2>&1 \
    || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q tmux >/dev/null 2>&1)) \
    || echo "note: tmux could not be installed; the tmux smoke test will be skipped"
fi

echo "== ruff check";  .venv/bin/ruff check .
echo "== ruff format"; .venv/bin/ruff format --check .
echo "== mypy";        .venv/bin/mypy
echo "== pytest";      .venv/bin/pytest "$@"
