#!/usr/bin/env bash
# Builds CPython 3.11.2 for wasm32-wasi (python.wasm) with Debian bookworm's own toolchain
# (clang-14, lld-14, llvm-14, wasi-libc 0.0~git20220510, libclang-rt-14-dev-wasm32), unpatched,
# so tests can run pywasm-assets' output in a real WASI interpreter (test/support/wasi.ts).
# Two variants, each a build root usable as pywasm-assets' --builddir (Makefile, pybuilddir.txt,
# build/lib.wasi-wasm32-3.11/_sysconfigdata__wasi_wasm32-wasi.py, python.wasm):
#
#   nozlib  .cache/wasi-3.11.2/build/       what a stock WASI SDK build is: no zlib
#                                           (MODULE_ZLIB_STATE='missing'), so zipimport can only
#                                           read STORED zips
#   zlib    .cache/wasi-3.11.2/build-zlib/  the same against Debian bookworm's zlib 1.2.13
#                                           (source package, cross-built with the same toolchain)
#
# Idempotent: a variant whose .complete marker matches this recipe is left alone (a rerun costs
# a few stat calls); a half-built tree (interrupted, failed) is never marked complete and a rerun
# continues it (make is incremental; an unfinished configure is redone from scratch).
# The second variant reuses the first one's compiler output through ccache: the two differ only
# in pyconfig.h's HAVE_ZLIB_COPY and binascii's flags, so all other objects are cache hits.
# Installs missing Debian packages itself (CI starts from a clean machine; needs root then).
# The zlib variant's configure starts from the nozlib one's config.cache (see step 6).
# Logs: .cache/logs/wasi-*.log. Env: JOBS (default: nproc), CCACHE=0 to build without ccache,
# SEED_CACHE=0 for a zlib configure from scratch. To force a rebuild, delete the build root.
#
# Usage: bash test/support/build-wasi-python.sh [nozlib|zlib|all]   (default: all)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$root/.cache"
src_orig="$cache/cpython-3.11.2"   # pristine tree from fetch-cpython.sh; never written to
work="$cache/wasi-3.11.2"
src="$work/src"                    # private copy: the build writes into its srcdir (see step 3)
sysroot="$work/sysroot"
zlib_prefix="$work/zlib"           # include/ and lib/libz.a for wasm32-wasi
logs="$cache/logs"
downloads="$cache/downloads"
build_python=/usr/bin/python3.11
jobs="${JOBS:-$(nproc)}"
use_ccache="${CCACHE:-1}"
# sha256 of zlib_1.2.13.dfsg.orig.tar.bz2, as listed in bookworm's zlib_1.2.13.dfsg-1.dsc.
zlib_sha256=71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1
# Part of every marker: a change here (flags, toolchain, layout) makes old trees incomplete.
recipe="cpython-3.11.2 wasm32-wasi clang-14 wasi-libc sysroot=$sysroot recipe=1"

case "${1:-all}" in
  nozlib) variants=(nozlib) ;;
  zlib) variants=(zlib) ;;
  all) variants=(nozlib zlib) ;;
  *) echo "usage: bash test/support/build-wasi-python.sh [nozlib|zlib|all]" >&2; exit 2 ;;
esac

t_start=$(date +%s)
say() { echo "build-wasi-python: $*" >&2; }
trap 'say "interrupted; nothing unfinished is marked complete, a rerun continues"; exit 130' INT TERM
builddir_of() { if [ "$1" = zlib ]; then echo "$work/build-zlib"; else echo "$work/build"; fi; }
# A marker counts only if it holds this recipe (a tree built by an older recipe is rebuilt).
marked() { [ -f "$1" ] && [ "$(cat "$1")" = "$recipe${2:+ $2}" ]; }
mark() { echo "$recipe${2:+ $2}" >"$1"; }

# Runs one step with its output in $logs/wasi-<name>.log; prints its wall time, or the
# log's tail and exits non-zero when it fails. The step runs in a subshell with errexit on
# and outside any `||`, `&&` or `if` (there bash ignores set -e in everything it calls).
step() {
  local name=$1 log="$logs/wasi-$1.log" t0 rc
  shift
  mkdir -p "$logs"
  t0=$(date +%s)
  say "$name ..."
  set +e
  (set -e; "$@") >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    say "$name FAILED (exit $rc after $(($(date +%s) - t0)) s); last lines of $log:"
    tail -n 40 "$log" >&2
    exit 1
  fi
  say "$name done in $(($(date +%s) - t0)) s"
}

# --- 0. Nothing to do? (the rerun fast path: no apt, no dpkg) -----------------------------
todo=()
for v in "${variants[@]}"; do
  marked "$(builddir_of "$v")/.complete" "$v" || todo+=("$v")
done
if [ "${#todo[@]}" = 0 ]; then
  for v in "${variants[@]}"; do say "$v: complete ($(builddir_of "$v")/python.wasm)"; done
  exit 0
fi

# --- 1. Debian packages -------------------------------------------------------------------
pkgs=(clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32 make pkg-config python3.11)
[ "$use_ccache" = 1 ] && pkgs+=(ccache)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  # Stale or absent package lists (a fresh CI image) make the first attempt fail: update once.
  apt-get install -y -qq --no-install-recommends "$@" || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"; }
}
[ "${#missing[@]}" = 0 ] || step apt-install install_packages "${missing[@]}"
"$build_python" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' ||
  { say "$build_python must be CPython 3.11 (the build python runs the freeze scripts and writes the sysconfigdata)"; exit 1; }

# --- 2. Sources ---------------------------------------------------------------------------
[ -f "$src_orig/.complete" ] || step fetch-cpython bash "$root/test/support/fetch-cpython.sh" --no-stdlib

# --- 3. Private source copy and sysroot (shared by both variants) -------------------------
# The build writes into its srcdir: the build python, run with PYTHONPATH=$srcdir/Lib, leaves
# __pycache__/ there, and the Tools/wasm recipe touches Modules/Setup.local. A copy keeps the
# pristine tree (read by other tests) untouched; both variants share it, so the compile
# commands (absolute source paths) are identical and ccache hits across variants.
copy_source() {
  rm -rf "$src" "$src.tmp"
  cp -a "$src_orig" "$src.tmp"
  rm -f "$src.tmp/.complete"
  touch "$src.tmp/Modules/Setup.local"   # Tools/wasm/wasm_build.py: "hack for WASI"
  mv "$src.tmp" "$src"
  mark "$work/.src-complete"
}
mkdir -p "$work"
marked "$work/.src-complete" && [ -f "$src/configure" ] || step copy-source copy_source

# clang-14 with --sysroot=/usr also searches /usr/include and /usr/local/include, so host
# headers (zlib.h, bzlib.h, ffi.h, ...) would leak into configure's checks: a sysroot that
# holds only Debian wasi-libc's wasm32-wasi parts keeps them out.
mkdir -p "$sysroot/include" "$sysroot/lib"
ln -sfn /usr/include/wasm32-wasi "$sysroot/include/wasm32-wasi"
ln -sfn /usr/lib/wasm32-wasi "$sysroot/lib/wasm32-wasi"

# --- 4. Cross toolchain: Tools/wasm/wasi-env's settings for Debian's clang-14 -------------
export CC="clang-14 --target=wasm32-wasi --sysroot=$sysroot"
export CPP="clang-14 --target=wasm32-wasi --sysroot=$sysroot -E"
export CXX="clang++-14 --target=wasm32-wasi --sysroot=$sysroot"
export LDSHARED=wasm-ld-14 AR=llvm-ar-14 RANLIB=llvm-ranlib-14
export PKG_CONFIG_PATH="" PKG_CONFIG_LIBDIR="$sysroot/lib/pkgconfig:$sysroot/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$sysroot"
# configure.ac adds the rest for WASI itself: -lwasi-emulated-{signal,getpid,process-clocks}
# and LDFLAGS_NODIST="-z stack-size=524288 -Wl,--stack-first -Wl,--initial-memory=10485760".
unset CFLAGS CPPFLAGS LDFLAGS OPT ZLIB_CFLAGS ZLIB_LIBS
# The build python must not pick up a user's site or environment.
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP

if [ "$use_ccache" = 1 ]; then
  # ccache by masquerade (a clang-14 symlink first on PATH), so CC and the sysconfigdata stay
  # exactly what a plain build records. NOHASHDIR: -g would otherwise put the build directory
  # into every hash and the variants would share nothing (their debug info then names the
  # first variant's directory, which nothing reads). BASEDIR: hashes paths relative to $work.
  mkdir -p "$work/ccache-bin"
  ln -sfn "$(command -v ccache)" "$work/ccache-bin/clang-14"
  export PATH="$work/ccache-bin:$PATH"
  export CCACHE_DIR="$work/ccache" CCACHE_BASEDIR="$work" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=2G
fi

# --- 5. zlib for wasm32-wasi (zlib variant only) ------------------------------------------
fetch_zlib() {
  mkdir -p "$downloads"
  cd "$downloads"
  if ! ls /var/lib/apt/lists/*_source_Sources* >/dev/null 2>&1 || ! apt-cache showsrc zlib >/dev/null 2>&1; then
    # The same deb-src twin of Debian's entries that fetch-cpython.sh adds.
    local list=/etc/apt/sources.list.d/pywasm-assets-deb-src.sources
    [ -f "$list" ] || sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$list"
    apt-get update -qq
  fi
  apt-get source -qq --download-only zlib/bookworm || { apt-get update -qq && apt-get source -qq --download-only zlib/bookworm; }
}
build_zlib() {
  local tarball="$downloads/zlib_1.2.13.dfsg.orig.tar.bz2" dir="$work/zlib-src"
  echo "$zlib_sha256  $tarball" | sha256sum -c --quiet - ||
    { echo "$tarball is not bookworm's zlib 1.2.13 .orig tarball; delete it and rerun"; return 1; }
  rm -rf "$dir" "$zlib_prefix"
  mkdir -p "$dir" "$zlib_prefix/include" "$zlib_prefix/lib"
  tar -xjf "$tarball" -C "$dir" --strip-components=1
  cd "$dir"
  # zlib's own configure takes CC/AR/RANLIB from the environment; CHOST only names the target.
  CHOST=wasm32-wasi CFLAGS=-O2 ./configure --static --prefix="$zlib_prefix"
  make -j"$jobs" libz.a
  cp zlib.h zconf.h "$zlib_prefix/include/"
  cp libz.a "$zlib_prefix/lib/"
  mark "$zlib_prefix/.complete"
}
for v in "${todo[@]}"; do
  if [ "$v" = zlib ] && ! marked "$zlib_prefix/.complete"; then
    [ -s "$downloads/zlib_1.2.13.dfsg.orig.tar.bz2" ] || step zlib-fetch fetch_zlib
    step zlib-build build_zlib
  fi
done

# --- 6. CPython, per variant --------------------------------------------------------------
configure_python() {   # variant builddir
  local v=$1 dir=$2
  local env=()
  [ "$v" = zlib ] && env=(ZLIB_CFLAGS="-I$zlib_prefix/include" ZLIB_LIBS="-L$zlib_prefix/lib -lz")
  rm -rf "$dir"
  mkdir -p "$dir"
  cd "$dir"
  if [ "$v" = zlib ] && [ "${SEED_CACHE:-1}" = 1 ] && marked "$work/build/.configured" nozlib; then
    # configure takes 2.5-3 minutes on a busy 2-core machine (10 s from this cache) and the
    # variants differ only in zlib: start from the nozlib run's answers minus its zlib ones,
    # with ZLIB_CFLAGS/LIBS recorded as set (they are "precious": configure -C refuses a cache
    # made with other values). Checked against a fresh configure (SEED_CACHE=0): Makefile,
    # pyconfig.h, Modules/Setup.stdlib, Modules/config.c and the sysconfigdata are identical
    # but for the build directory's name.
    sed -e '/^ac_cv_header_zlib_h=/d' -e '/^ac_cv_lib_z_/d' -e '/^py_cv_module_zlib=/d' \
      -e '/^ac_cv_env_ZLIB_\(CFLAGS\|LIBS\)_\(set\|value\)=/d' "$work/build/config.cache" >config.cache
    cat >>config.cache <<CACHE
ac_cv_env_ZLIB_CFLAGS_set=set
ac_cv_env_ZLIB_CFLAGS_value='-I$zlib_prefix/include'
ac_cv_env_ZLIB_LIBS_set=set
ac_cv_env_ZLIB_LIBS_value='-L$zlib_prefix/lib -lz'
CACHE
  fi
  # As Tools/wasm/README.md "Cross-compile to wasm32-wasi" does, with Debian's build python.
  env "${env[@]}" CONFIG_SITE="$src/Tools/wasm/config.site-wasm32-wasi" \
    "$src/configure" -C \
    --host=wasm32-unknown-wasi \
    --build="$("$src/config.guess")" \
    --with-build-python="$build_python"
  if [ "$v" = zlib ]; then
    grep -q "^MODULE_ZLIB_STATE=yes" Makefile || { echo "configure did not find the wasm32-wasi zlib in $zlib_prefix"; return 1; }
  else
    grep -q "^MODULE_ZLIB_STATE=missing" Makefile || { echo "configure found a zlib; the sysroot leaks host headers"; return 1; }
  fi
  mark .configured "$v"
}
make_python() {   # builddir
  cd "$1"
  # The default target for WASI is build_wasm: python.wasm, pybuilddir.txt (which writes the
  # sysconfigdata), platform and python-config; nothing beyond what a --builddir needs.
  make -j"$jobs"
  local sysconfigdata
  sysconfigdata="$(cat pybuilddir.txt)/_sysconfigdata__wasi_wasm32-wasi.py"
  for f in python.wasm Makefile pybuilddir.txt "$sysconfigdata"; do
    [ -s "$f" ] || { echo "make succeeded but $1/$f is missing"; return 1; }
  done
}
for v in "${todo[@]}"; do
  dir=$(builddir_of "$v")
  rm -f "$dir/.complete"
  marked "$dir/.configured" "$v" || step "$v-configure" configure_python "$v" "$dir"
  [ "$use_ccache" = 1 ] && ccache --zero-stats >/dev/null
  step "$v-make" make_python "$dir"
  [ "$use_ccache" = 1 ] && say "$v: ccache $(ccache --print-stats | awk -F'\t' '$1 ~ /^(direct_cache_hit|preprocessed_cache_hit|cache_miss)$/ {printf "%s=%s ", $1, $2}')"
  mark "$dir/.complete" "$v"
  say "$v: built $dir/python.wasm ($(du -h "$dir/python.wasm" | cut -f1))"
done
say "all done in $(($(date +%s) - t_start)) s"
