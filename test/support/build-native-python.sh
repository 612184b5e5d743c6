#!/usr/bin/env bash
# Builds a native CPython from the pristine source tree that fetch-cpython.sh extracts
# (.cache/cpython-<version>/, fetched here when missing) and installs it into
# .cache/python-<version>/: bin/python3.X, lib/python3.X/ (a normal installed stdlib with its
# __pycache__/, lib-dynload/, config-3.X-<multiarch>/, site-packages/), include/, share/man/.
#
# It serves as the build interpreter for that version (pywasm-assets' worker compiles the pycs
# in it; the reference script runs in it) and as the "embedded default" for that version:
#   pywasm-assets pack --build-python .cache/python-3.13.15/bin/python3.13
# packs its own stdlib (sysconfig.get_paths()['stdlib'] = .cache/python-3.13.15/lib/python3.13).
#
# Made fast for CI: ~5 min on 2 cores shared with other jobs (configure 27-45 s, make ~250 s
# wall for ~180-200 CPU-s, install 14-20 s; against ~8.5 min for a plain `./configure &&
# make -j2 && make install`). What each choice saves, measured in CPU-s of make:
# - no PGO/LTO (configure's default);
# - OPT without -g: -O3 as configure would choose, no debug info, which is ~20% of the compile
#   time (182 instead of ~231 CPU-s) and 2/3 of the install's size (84 instead of 239 MB);
#   -O2 compiles no faster, and the interpreter without -g compiles pycs as fast;
# - --disable-test-modules: no _testcapi & co. (23 of 255 CPU-s) and no Lib/test/ and other test
#   packages in the install, like Debian's libpython3.X-stdlib without -testsuite (`make
#   altinstall TEST_MODULES=yes` would add them);
# - --without-ensurepip: no pip in site-packages (with the test packages, ~45 s of install);
# - `make altinstall`: bin/python3.X only, no python3 symlink.
# Every other extension module is built where its library's headers are installed (ssl,
# sqlite3, ctypes, decimal, curses, tkinter, readline: together ~21 CPU-s, so not worth
# skipping): the interpreter stays a normal one.
#
# The build runs in a private copy of the source tree (.cache/build-python-<version>/): the
# build interpreter imports the tree's Lib/ and would write __pycache__/ into it, and the tests
# need the fetched tree as it came out of the tarball. It installs into a staging DESTDIR and
# moves the result into place, then writes .complete: a run that is interrupted (Ctrl-C, a
# killed CI job) leaves no half-installed prefix, and the next run resumes make where it
# stopped. A complete prefix is left alone (a rerun costs a stat). Logs, one per step, and
# the steps' wall and CPU times: .cache/logs/build-native-python-<version>.*.
#
# Usage: bash test/support/build-native-python.sh 3.13.15
# Environment: JOBS (make -j, default: nproc), KEEP_BUILD=1 (keep the build tree afterwards).
set -euo pipefail

version="${1:-}"
[[ "$version" =~ ^3\.[0-9]+\.[0-9]+$ ]] || { echo "usage: bash test/support/build-native-python.sh 3.X.Y (e.g. 3.13.15)" >&2; exit 2; }
short="${version%.*}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$root/.cache"
srcdir="$cache/cpython-$version"
prefix="$cache/python-$version"
work="$cache/build-python-$version"
logs="$cache/logs"
jobs="${JOBS:-$(nproc)}"
name="build-native-python-$version"

log() { echo "build-native-python: $*" >&2; }

if [ -f "$prefix/.complete" ]; then
  log "ready: $prefix/bin/python$short"
  exit 0
fi

if [ ! -f "$srcdir/.complete" ]; then
  log "no $srcdir: fetching it"
  bash "$root/test/support/fetch-cpython.sh" "$version"
fi

mkdir -p "$logs"
times="$logs/$name.times"
t0=$SECONDS
trap 'log "interrupted; rerun to resume (make continues where it stopped)"; exit 130' INT TERM

# CPU seconds (user + sys) of this shell's finished child processes, as `times` printed them
# into the file given. `times` itself must run in this shell, not in a $(...) subshell, which
# starts from zero.
cpu_of() {
  awk 'function s(x) { split(x, a, /[ms]/); return a[1] * 60 + a[2] }
       NR == 2 { printf "%.1f", s($1) + s($2) }' "$1"
}

# Runs one step with its output in $logs/$name.<step>.log, and records its wall time and
# CPU time (the CPU time says more when other jobs share the cores).
step() {
  local label="$1"
  shift
  local start=$SECONDS
  times >"$logs/.$name.cpu0"
  log "$label (log: $logs/$name.$label.log)"
  if ! "$@" >"$logs/$name.$label.log" 2>&1; then
    log "$label failed after $((SECONDS - start)) s; last lines of $logs/$name.$label.log:"
    tail -n 30 "$logs/$name.$label.log" >&2
    exit 1
  fi
  times >"$logs/.$name.cpu1"
  local took
  took="$((SECONDS - start)) s wall, $(awk -v a="$(cpu_of "$logs/.$name.cpu0")" -v b="$(cpu_of "$logs/.$name.cpu1")" \
    'BEGIN { printf "%.0f", b - a }') s CPU"
  rm -f "$logs/.$name.cpu0" "$logs/.$name.cpu1"
  echo "$label $took (load $(cut -d' ' -f1 /proc/loadavg))" >>"$times"
  log "$label: $took"
}

# 1. A private copy of the tree (only when it is not there yet: a rerun resumes the build).
if [ ! -f "$work/src/.copied" ]; then
  rm -rf "$work"
  mkdir -p "$work"
  echo "# $(date -u +%FT%TZ) $name, make -j$jobs, $(nproc) cores" >"$times"
  step copy cp -a "$srcdir" "$work/src"
  rm -f "$work/src/.complete"
  touch "$work/src/.copied"
fi
cd "$work/src"

# 2. configure, once (config.status marks a finished run). The prefix is baked into the
# interpreter's sysconfig data and the installed pycs' file names, so it is the final one;
# staging goes through DESTDIR. OPT replaces configure's "-g -O3 -Wall" (gcc, no
# --with-pydebug); configure still prepends -DNDEBUG.
if [ ! -f config.status ] || [ ! -f Makefile ]; then
  step configure ./configure --prefix="$prefix" --without-ensurepip --disable-test-modules \
    OPT="-O3 -Wall"
fi

# 3. make (resumes where an interrupted run stopped).
step make make -j"$jobs"

# 4. Install into a staging directory, then move it into place.
rm -rf "$work/stage" "$prefix"
step install make altinstall DESTDIR="$work/stage"
mv "$work/stage$prefix" "$prefix"
rm -rf "$work/stage"

# What pywasm-assets' worker (src/python/worker.py, imports.py) and the reference script
# import must be there; the rest only depends on the machine's -dev packages, so say it.
"$prefix/bin/python$short" -c "
import sys, sysconfig
assert sys.version.startswith('$version'), sys.version
assert sysconfig.get_paths()['stdlib'] == '$prefix/lib/python$short', sysconfig.get_paths()['stdlib']
import argparse, ast, importlib.util, json, marshal, pathlib, runpy, shutil, warnings, zipfile
" || { log "the installed $prefix/bin/python$short fails its smoke test"; exit 1; }
"$prefix/bin/python$short" -c "
import importlib.util
gone = [m for m in ('zlib', '_ssl', '_hashlib', '_sqlite3', '_ctypes', '_decimal', '_bz2', '_lzma', 'readline', '_curses', '_tkinter') if importlib.util.find_spec(m) is None]
if gone: print('build-native-python: note: built without', ' '.join(gone), '(no -dev package for them)')
" >&2

[ "${KEEP_BUILD:-0}" = 1 ] || rm -rf "$work"
echo "total $((SECONDS - t0)) s" >>"$times"
touch "$prefix/.complete"
log "ready: $prefix/bin/python$short (total $((SECONDS - t0)) s; $times)"
