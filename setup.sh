#!/usr/bin/env bash
# Install what the print server needs on Debian, then serve or test.
#   bash setup.sh serve [--config FILE]   install, then run the server (built-in default without --config)
#   bash setup.sh test  [pytest args]     install, then run ruff (format and lint), mypy and the whole test suite,
#                                         then the pixel tests again under other OpenBLAS kernels
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-}"
case "$mode" in
  serve|test) shift ;;
  *) echo "usage: bash setup.sh serve [--config FILE] | test [pytest args]" >&2; exit 2 ;;
esac

packages=(python3 python3-venv python3-dev gcc libcups2-dev)
if [ "$mode" = test ]; then
  packages+=(cups cups-client cups-filters ghostscript dcmtk openssl systemd chromium chromium-driver colord-data strace)
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
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ printserver/render/_resample.c -nt "$stamp" ]; then
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
# the suite measures which lines of printserver/ it ran, subprocesses included (pyproject.toml).
# Its tests run side by side in 4 pytest-xdist workers (most of a test's time is spent waiting for
# a server, CUPS or a socket): under 4 minutes on two cores, where one worker takes 9.  Tests
# marked `timed` run ahead of the others, `alone` ones by themselves (tests/conftest.py).
# PYTEST_WORKERS=1 runs them one after the other.
workers="${PYTEST_WORKERS:-4}"
status=0
.venv/bin/pytest -n "$workers" --dist worksteal --cov --cov-report= "$@" || status=$?
if [ -f .coverage ]; then
  echo "coverage of printserver/: $(.venv/bin/coverage report --format=total)% of lines run by the tests"
fi
# The same film on every machine: numpy's OpenBLAS picks a kernel for the CPU at run time,
# and a film's bytes must not depend on it (nor on anything else of the CPU's).  The tests that
# compare pixels run again under other kernels (the films, through CUPS and Ghostscript, under
# two of them), side by side; the one test that needs the fixed port 11112 takes it in turn.
pixels=(tests/test_render.py tests/test_postscript.py tests/test_same_film.py)
films=(tests/test_golden_films.py tests/test_print_end_to_end.py)
reruns=$(mktemp -d)
for kernel in unset Haswell Zen Sandybridge Prescott; do
  tests=("${pixels[@]}")
  case "$kernel" in Haswell|Prescott) tests+=("${films[@]}") ;; esac
  (
    echo "OPENBLAS_CORETYPE=$kernel: ${tests[*]}"
    if [ "$kernel" = unset ]; then
      env -u OPENBLAS_CORETYPE .venv/bin/pytest -q -p no:cacheprovider "${tests[@]}"
    else
      OPENBLAS_CORETYPE="$kernel" .venv/bin/pytest -q -p no:cacheprovider "${tests[@]}"
    fi
  ) > "$reruns/$kernel" 2>&1 &
done
for kernel in unset Haswell Zen Sandybridge Prescott; do
  wait -n || status=1
done
cat "$reruns"/unset "$reruns"/Haswell "$reruns"/Zen "$reruns"/Sandybridge "$reruns"/Prescott
rm -rf "$reruns"
exit "$status"
