#!/usr/bin/env bash
# Fetches the CPython 3.11.2 sources (Debian bookworm's python3.11 source package,
# whose .orig.tar.gz is the pristine upstream tarball) into .cache/cpython-3.11.2/,
# and, unless --no-stdlib is given, Debian's installed-layout stdlib into
# .cache/debian-stdlib/usr/lib/python3.11/: libpython3.11-minimal (os.py is there) and
# -stdlib (lib-dynload/, the host's _sysconfigdata_*.py), -testsuite (test/, plus idlelib/,
# lib2to3/ and tkinter/ holding only their tests, without __init__.py), and of
# libpython3.11-dev only config-3.11-x86_64-linux-gnu/, without its static libraries.
#
# With the argument 3.13.15 it fetches (instead, or as well when 3.11.2 is also named) the
# CPython 3.13.15 sources into .cache/cpython-3.13.15/: the pristine .orig.tar.xz of
# Debian sid's python3.13 3.13.15-1 source package. Bookworm has no python3.13, so that one
# comes through a private apt configuration under .cache/apt-src/ (a deb-src entry for
# trixie and sid, its own package lists): the machine's apt sources, and so which binary
# packages apt installs, stay as they are. Build a native interpreter from it with
# test/support/build-native-python.sh 3.13.15.
#
# Idempotent: a tree that is already complete is left alone, so a rerun costs a
# few stat calls. Needs root (apt) the first time only. Used by .ci/run before the tests;
# tests that need these trees skip (and say why) when they are missing.
#
# Usage: bash test/support/fetch-cpython.sh [--no-stdlib] [3.11.2] [3.13.15]
#   (no version: 3.11.2, with the stdlib unless --no-stdlib; --no-stdlib concerns 3.11.2 only)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$root/.cache"
src="$cache/cpython-3.11.2"
stdlib="$cache/debian-stdlib"
downloads="$cache/downloads"
want_stdlib=1
# sha256 of python3.11_3.11.2.orig.tar.gz, as listed in the bookworm .dsc (3.11.2-6+deb12u8).
orig_sha256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
want_311=0
want_313=0
for arg in "$@"; do
  case "$arg" in
    --no-stdlib) want_stdlib=0 ;;
    3.11.2) want_311=1 ;;
    3.13.15) want_313=1 ;;
    *) echo "fetch-cpython: unknown argument '$arg' (usage: [--no-stdlib] [3.11.2] [3.13.15])" >&2; exit 2 ;;
  esac
done
[ "$want_311" = 1 ] || [ "$want_313" = 1 ] || want_311=1
[ "$want_311" = 1 ] || want_stdlib=0

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

# CPython 3.13.15: Debian sid's python3.13 3.13.15-1 (trixie has 3.13.5; sid also moved on to
# later 3.13 releases, and a version that leaves sid's index can no longer be fetched: then
# this fails and says so). The .orig.tar.xz is the upstream Python-3.13.15.tar.xz.
src313="$cache/cpython-3.13.15"
# sha256 of python3.13_3.13.15.orig.tar.xz, as listed in sid's python3.13_3.13.15-1.dsc.
orig313_sha256=1e66a7945a48390ee4c2a4268a0e4185884059a13c4aab6d148aa208deea4a76

# apt-get with a private configuration: one deb-src entry (trixie and sid, main) and its own
# package lists in .cache/apt-src/. Nothing under /etc/apt or /var/lib/apt/lists changes, so
# the machine's `apt-get update` stays as fast as before and binary installs are unaffected.
apt_src() {
  local dir="$cache/apt-src"
  mkdir -p "$dir/lists/partial"
  # deb822 format, which apt reads as such only under a .sources name.
  cat >"$dir/deb-src.sources" <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  local opts=(-o "Dir::Etc::SourceList=$dir/deb-src.sources" -o "Dir::Etc::SourceParts=$dir/no-parts"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  # As root apt downloads as user _apt, who cannot write to these root-owned directories: it
  # would fall back to root with a warning for every file. Say so up front instead.
  [ "$(id -u)" = 0 ] && opts+=(-o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" "$@"
}

fetch_313() {
  local tarball="$downloads/python3.13_3.13.15.orig.tar.xz" dsc="$downloads/python3.13_3.13.15-1.dsc"
  if [ ! -s "$tarball" ] || [ ! -s "$dsc" ]; then
    if ! ls "$cache/apt-src/lists/"*_source_Sources* >/dev/null 2>&1; then
      log "apt-get update (private: trixie and sid deb-src, lists in $cache/apt-src)"
      apt_src update -qq >&2
    fi
    log "apt-get source --download-only python3.13=3.13.15-1"
    (cd "$downloads" && apt_src source -qq --download-only python3.13=3.13.15-1 >&2) || {
      log "retrying after apt-get update (private lists)"
      apt_src update -qq >&2
      (cd "$downloads" && apt_src source -qq --download-only python3.13=3.13.15-1 >&2)
    } || true
    [ -s "$tarball" ] && [ -s "$dsc" ] ||
      { log "no $tarball or $dsc after apt-get source (is 3.13.15-1 still in Debian sid? got: $(ls "$downloads"))"; exit 1; }
  fi
  # Two checks: against the .dsc apt fetched (whose own hash apt checked against the signed
  # Sources index), and against the hash pinned here, so a different upload cannot slip in.
  local listed
  listed=$(sed -n '/^Checksums-Sha256:/,/^[^ ]/s/^ \([0-9a-f]\{64\}\) [0-9]* python3\.13_3\.13\.15\.orig\.tar\.xz$/\1/p' "$dsc")
  [ "$listed" = "$orig313_sha256" ] ||
    { log "$dsc lists sha256 '${listed:-none}' for the .orig tarball, not $orig313_sha256; delete it and rerun"; exit 1; }
  echo "$orig313_sha256  $tarball" | sha256sum -c --quiet - >&2 ||
    { log "$tarball is not the known 3.13.15 .orig tarball; delete it and rerun"; exit 1; }
  log "extracting $(basename "$tarball")"
  rm -rf "$src313" "$src313.tmp"
  mkdir -p "$src313.tmp"
  tar -xJf "$tarball" -C "$src313.tmp" --strip-components=1
  for f in Lib/os.py Tools/wasm/wasm_assets.py Modules/Setup configure; do
    [ -e "$src313.tmp/$f" ] || { log "tarball has no $f"; exit 1; }
  done
  touch "$src313.tmp/.complete"
  mv "$src313.tmp" "$src313"
}

mkdir -p "$downloads"
# One fetch at a time: two runs extracting into the same .tmp tree would mix their files.
exec 9>"$cache/.fetch-cpython.lock"
flock 9

if [ "$want_313" = 1 ] && ! complete "$src313"; then fetch_313; fi
[ "$want_313" = 1 ] && [ "$want_311" = 0 ] && { log "ready: $src313"; exit 0; }

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

ready="$src"
[ "$want_stdlib" = 1 ] && ready="$ready and $stdlib/usr/lib/python3.11"
[ "$want_313" = 1 ] && ready="$ready and $src313"
log "ready: $ready"
