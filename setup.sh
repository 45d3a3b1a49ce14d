#!/usr/bin/env bash
# Install what the print server needs on Debian, then serve or test.
#   bash setup.sh serve [--config FILE]   install, then run the server (built-in default without --config)
#   bash setup.sh test  [pytest args]     install, then run ruff (format and lint), mypy and the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-}"
case "$mode" in
  serve|test) shift ;;
  *) echo "usage: bash setup.sh serve [--config FILE] | test [pytest args]" >&2; exit 2 ;;
esac

packages=(python3 python3-venv python3-dev gcc libcups2-dev)
if [ "$mode" = test ]; then
  packages+=(cups cups-client cups-filters ghostscript dcmtk openssl systemd chromium chromium-driver colord-data)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi

if [ "$mode" = serve ]; then
  exec .venv/bin/printserver serve "$@"
fi
.venv/bin/ruff format --check printserver tests bench
.venv/bin/ruff check printserver tests bench
.venv/bin/mypy
# the suite measures which lines of printserver/ it ran, subprocesses included (pyproject.toml)
status=0
.venv/bin/pytest --cov --cov-report= "$@" || status=$?
if [ -f .coverage ]; then
  echo "coverage of printserver/: $(.venv/bin/coverage report --format=total)% of lines run by the tests"
fi
exit "$status"
