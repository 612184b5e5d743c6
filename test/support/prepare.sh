#!/usr/bin/env bash
# Makes the real parts the tests run against, once per machine (each step is idempotent and
# cached under .cache/: a rerun costs seconds). test/run.js calls it before the tests, with
# the parts the selected test files need; `npm test` needs them all.
#
#   sources     CPython 3.11.2's sources and Debian's installed 3.11 stdlib (fetch-cpython.sh)
#   python-3.13 CPython 3.13.15's sources and a native 3.13.15 built from them (~5 min)
#   wasi        CPython 3.11.2 for wasm32-wasi, with and without zlib (~5 min)
#   emscripten  CPython 3.11.2 for Emscripten, browser and node targets (~3 min)
#
# Debian packages the builds need are installed by the build scripts when missing (root);
# .ci/run installs them all up front. Prints one line per part with its wall time; on a
# failure, the step's own message and a non-zero exit.
#
# Usage: bash test/support/prepare.sh [sources] [python-3.13] [wasi] [emscripten] | all
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(all)
[ "${parts[0]}" = all ] && parts=(sources python-3.13 wasi emscripten)

for part in "${parts[@]}"; do
  started=$(date +%s)
  case "$part" in
    sources) bash "$here/fetch-cpython.sh" ;;
    python-3.13) bash "$here/fetch-cpython.sh" 3.13.15 && bash "$here/build-native-python.sh" 3.13.15 ;;
    wasi) bash "$here/build-wasi-python.sh" all ;;
    emscripten) bash "$here/build-emscripten-python.sh" all ;;
    *) echo "prepare: unknown part '$part' (sources, python-3.13, wasi, emscripten, all)" >&2; exit 2 ;;
  esac
  echo "prepare: $part ready ($(($(date +%s) - started)) s)" >&2
done
