#!/usr/bin/env bash
# Fetches the CPython 3.11.2 sources (Debian bookworm's python3.11 source package,
# whose .orig.tar.gz is the pristine upstream tarball) into .cache/cpython-3.11.2/,
# and, unless --no-stdlib is given, Debian's installed-layout stdlib into
# .cache/debian-stdlib/usr/lib/python3.11/: libpython3.11-minimal (os.py is there) and
# -stdlib (lib-dynload/, the host's _sysconfigdata_*.py), -testsuite (test/, plus idlelib/,
# lib2to3/ and tkinter/ holding only their tests, without __init__.py), and of
# libpython3.11-dev only config-3.11-x86_64-linux-gnu/, without its static libraries.
#
# Idempotent: a tree that is already complete is left alone, so a rerun costs a
# few stat calls. Needs root (apt) the first time only. Used by .ci/run before the tests;
# tests that need these trees skip (and say why) when they are missing.
#
# Usage: bash test/support/fetch-cpython.sh [--no-stdlib]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$root/.cache"
src="$cache/cpython-3.11.2"
stdlib="$cache/debian-stdlib"
downloads="$cache/downloads"
want_stdlib=1
# sha256 of python3.11_3.11.2.orig.tar.gz, as listed in the bookworm .dsc (3.11.2-6+deb12u8).
orig_sha256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
[ "${1:-}" = "--no-stdlib" ] && want_stdlib=0

log() { echo "fetch-cpython: $*" >&2; }

# Debian ships deb822 sources without deb-src; add a deb-src twin of every entry once.
ensure_deb_src() {
  local list=/etc/apt/sources.list.d/pywasm-assets-deb-src.sources
  if [ ! -f "$list" ]; then
    log "adding deb-src entries ($list)"
    sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$list"
  fi
  # The Sources index is what `apt-get source` needs; update only when it is missing.
  if ! ls /var/lib/apt/lists/*_source_Sources* >/dev/null 2>&1; then
    log "apt-get update"
    apt-get update -qq >&2
  fi
}

complete() { [ -f "$1/.complete" ]; }

# Runs an apt-get download command in $downloads; if it fails (stale package lists: the
# archive moved on), refreshes the lists once and tries again.
apt_in_downloads() {
  (cd "$downloads" && "$@" >&2) && return 0
  log "retrying after apt-get update: $*"
  apt-get update -qq >&2
  (cd "$downloads" && "$@" >&2)
}

mkdir -p "$downloads"

if ! complete "$src"; then
  tarball="$downloads/python3.11_3.11.2.orig.tar.gz"
  if [ ! -s "$tarball" ]; then
    ensure_deb_src
    # Pin the suite: bookworm-security's newer .dsc can vanish from the pool (404) while
    # its Sources index still lists it; every 3.11.2 revision shares the same .orig tarball.
    log "apt-get source --download-only python3.11/bookworm"
    apt_in_downloads apt-get source -qq --download-only python3.11/bookworm ||
      apt_in_downloads apt-get source -qq --download-only python3.11 || true
    [ -s "$tarball" ] || { log "no $tarball after apt-get source (got: $(ls "$downloads"))"; exit 1; }
  fi
  echo "$orig_sha256  $tarball" | sha256sum -c --quiet - >&2 ||
    { log "$tarball is not the known 3.11.2 .orig tarball; delete it and rerun"; exit 1; }
  log "extracting $(basename "$tarball")"
  rm -rf "$src" "$src.tmp"
  mkdir -p "$src.tmp"
  tar -xzf "$tarball" -C "$src.tmp" --strip-components=1
  for d in Lib Tools/wasm Modules; do
    [ -d "$src.tmp/$d" ] || { log "tarball has no $d/"; exit 1; }
  done
  touch "$src.tmp/.complete"
  mv "$src.tmp" "$src"
fi

if [ "$want_stdlib" = 1 ] && ! complete "$stdlib"; then
  debs=(libpython3.11-minimal libpython3.11-stdlib libpython3.11-testsuite libpython3.11-dev)
  have=1
  for d in "${debs[@]}"; do ls "$downloads/${d}"_*.deb >/dev/null 2>&1 || have=0; done
  if [ "$have" = 0 ]; then
    log "apt-get download ${debs[*]}"
    ensure_deb_src
    apt_in_downloads apt-get download -qq "${debs[@]/%//bookworm}" ||
      apt_in_downloads apt-get download -qq "${debs[@]}"
  fi
  rm -rf "$stdlib" "$stdlib.tmp"
  mkdir -p "$stdlib.tmp"
  for d in libpython3.11-minimal libpython3.11-stdlib libpython3.11-testsuite; do
    deb=$(ls "$downloads/${d}"_*.deb | head -n1)
    log "unpacking $(basename "$deb")"
    dpkg -x "$deb" "$stdlib.tmp"
  done
  # Of -dev only config-3.11-<multiarch>/ (Makefile, Setup*, python-config.py, ...), not
  # its 20 MB of static libraries: what an installed stdlib dir holds besides modules.
  deb=$(ls "$downloads"/libpython3.11-dev_*.deb | head -n1)
  log "unpacking config-3.11-*/ from $(basename "$deb")"
  dpkg-deb --fsys-tarfile "$deb" |
    tar -x -C "$stdlib.tmp" --wildcards --exclude='*.a' './usr/lib/python3.11/config-3.11-*'
  [ -f "$stdlib.tmp/usr/lib/python3.11/os.py" ] || { log "no usr/lib/python3.11/os.py in the .debs"; exit 1; }
  touch "$stdlib.tmp/.complete"
  mv "$stdlib.tmp" "$stdlib"
fi

if [ "$want_stdlib" = 1 ]; then log "ready: $src and $stdlib/usr/lib/python3.11"; else log "ready: $src"; fi
