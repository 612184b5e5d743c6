#!/usr/bin/env bash
# Builds CPython 3.11.2 for Emscripten (wasm32-unknown-emscripten), browser and node targets,
# with Debian bookworm's emcc 3.1.6, the way CPython's Tools/wasm/README.md describes:
#
#   CONFIG_SITE=Tools/wasm/config.site-wasm32-emscripten emconfigure <src>/configure -C \
#     --host=wasm32-unknown-emscripten --build=$(config.guess) \
#     --with-emscripten-target=browser|node --with-build-python=/usr/bin/python3.11
#   emmake make -j$(nproc)
#
# into .cache/emscripten-3.11.2/{browser,node}/: each a build root as `make` leaves it (Makefile,
# pybuilddir.txt, build/lib.emscripten-wasm32-3.11/_sysconfigdata__emscripten_wasm32-emscripten.py,
# python.js, python.wasm; browser also python.data, usr/local/lib/python311.zip, python.html).
# The source tree is .cache/cpython-3.11.2 (fetch-cpython.sh --no-stdlib), never written: the
# builds use a hard-linked copy, .cache/emscripten-3.11.2/src, because wasm_assets.py writes
# __pycache__/ into Lib/.
#
# Departures from the README, forced by this machine or for speed (timings in
# /work/notes/emscripten-cpython.md):
# - zlib and bzip2 come from Debian bookworm's source packages (`apt-get source`), compiled with
#   emcc into .cache/emscripten-3.11.2/deps/: Emscripten's ports (-sUSE_ZLIB) need the network,
#   and Debian's emcc has a frozen cache. sqlite3 is told to link -lsqlite3, which does not exist
#   (_sqlite3 'missing'), so configure never asks for the -sUSE_SQLITE3 port either.
# - LDFLAGS=-sWASM_ASYNC_COMPILATION=0: otherwise 3.1.6 fetch()es the .wasm by path under Node 20.
# - ac_cv_func_clock_nanosleep=no and ac_cv_lib_rt_clock_nanosleep=no: 3.1.6's clock_nanosleep
#   ignores TIMER_ABSTIME, so time.sleep() would never return.
# - --disable-test-modules on both targets (the browser target's default), so that both compile
#   the same objects: the second target's configure starts from the first one's config.cache
#   (~12 s instead of 3-6 min) and links the first one's objects (checked: same pyconfig.h, same
#   compile flags) instead of compiling them again. REUSE_OBJECTS=0 compiles each on its own.
# - The first configure starts from test/support/emscripten-3.11.2.config.cache when that seed
#   was written for the same emcc, clang, configure script, config.site and configure line (its
#   first line says for which); CONFIG_CACHE_SEED=0 ignores it, CONFIG_CACHE_SEED=write
#   configures without it and writes a new one.
# - A compile-only emcc call (-c, -E) of C files runs the clang command emcc itself would run,
#   without emcc's Python start-up (see make_fast_emcc); FAST_EMCC=0 turns that off.
# - make builds only what a build root needs: python.js (for the browser it depends on
#   python.data's inputs), pybuilddir.txt (the sysconfigdata) and platform. No tests.
#
# Idempotent: a target whose .complete marker matches the recipe is left alone (a rerun takes
# about a second); a failed or interrupted build is never marked complete and a rerun resumes
# it (configure from scratch if configure had not finished). Ctrl-C or SIGTERM ends the whole
# step (make, emcc, clang). Logs: .cache/logs/emscripten-*.log; each step prints wall and CPU
# seconds. Needs root the first time only (apt-get source zlib bzip2).
#
# Usage: bash test/support/build-emscripten-python.sh [browser|node|all]   (default: all)
# Env:   JOBS (default: nproc), BUILD_PYTHON (default: /usr/bin/python3.11, Debian's 3.11.2),
#        REUSE_OBJECTS=0, FAST_EMCC=0, CONFIG_CACHE_SEED=0|write
set -euo pipefail

what=${1:-all}
case "$what" in browser | node | all) ;; *)
  echo "usage: $0 [browser|node|all]" >&2
  exit 2
  ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.cache"
src="$cache/cpython-3.11.2"
out="$cache/emscripten-3.11.2"
logs="$cache/logs"
downloads="$cache/downloads"
deps="$out/deps"     # include/ and lib/: zlib and bzip2 for wasm32-emscripten
srccopy="$out/src"   # the builds' srcdir
fastbin="$out/bin"   # the compile-only emcc wrapper
seed="$here/emscripten-3.11.2.config.cache"
BUILD_PYTHON=${BUILD_PYTHON:-/usr/bin/python3.11}
JOBS=${JOBS:-$(nproc)}
REUSE_OBJECTS=${REUSE_OBJECTS:-1}
FAST_EMCC=${FAST_EMCC:-1}
CONFIG_CACHE_SEED=${CONFIG_CACHE_SEED:-1}
# Bump when the recipe changes in a way its configure line does not show.
RECIPE=1
SYSCONFIGDATA=build/lib.emscripten-wasm32-3.11/_sysconfigdata__emscripten_wasm32-emscripten.py

# Debian's emcc is `exec ${EMSDK_PYTHON:-python3} emcc.py`: with pyenv's shims first on PATH (as
# here) every call went through a shell-script shim: 0.67 s instead of 0.39 s for an empty
# compile, and a build makes ~1,500 calls.
export EMSDK_PYTHON=${EMSDK_PYTHON:-/usr/bin/python3}
export EMCC_SKIP_SANITY_CHECK=1
# Debian's emcc links against its prebuilt system libraries in /usr/share/emscripten/cache
# (FROZEN_CACHE = True): EM_CACHE must stay unset.
unset EM_CACHE
# emcc -O1 and above run its JS optimizer (acorn), which Debian ships in /usr/share/nodejs.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

T0=$(date +%s)
say() { echo "build-emscripten-python: $*" >&2; }

# step NAME LOG CMD...: runs CMD (a command or a function below) in a subshell in its own process
# group, output in LOG, and prints its wall and CPU seconds (CPU: all its processes; the machine
# may be shared); on failure the log's tail, and exit. errexit holds inside CMD (in an `if` it
# would not), and an interrupt ends the whole group: make, emcc, clang.
child=
on_signal() {
  trap - INT TERM HUP
  if [ -n "$child" ]; then
    kill -TERM -- "-$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  say "interrupted; nothing new was marked complete"
  exit 130
}
trap on_signal INT TERM HUP
set -m # background jobs get their own process group (and keep SIGINT)
step() {
  local name=$1 log=$2
  shift 2
  local rc=0 times real user sys started
  started=$(date +%s)
  say "$name ... (log: ${log#"$root"/})"
  (
    TIMEFORMAT='%R %U %S'
    { time { "$@"; } >"$log" 2>&1 </dev/null; } 2>"$log.time"
  ) &
  child=$!
  wait "$child" || rc=$?
  child=
  times=$(tail -n1 "$log.time" 2>/dev/null || echo '0 0 0')
  rm -f "$log.time"
  read -r real user sys <<<"$times"
  if [ "$rc" != 0 ]; then
    say "FAILED: $name (exit $rc) after $(($(date +%s) - started)) s; last lines of $log:"
    # (errexit ends the timed group early, and `time` then reports into the log: not shown)
    tail -n 41 "$log" | grep -v -E '^[0-9]+\.[0-9]{3} [0-9]+\.[0-9]{3} [0-9]+\.[0-9]{3}$' | tail -n 40 >&2
    exit 1
  fi
  say "$name: ${real%.*} s (CPU $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", u + s }') s)"
}

mkdir -p "$out" "$logs" "$downloads"
# One build at a time (two test files may ask at once): a second caller waits, then finds the
# builds complete.
exec 9>"$out/.lock"
if ! flock -n 9; then
  say "waiting for another build-emscripten-python.sh to finish"
  flock 9
fi
# The builds live inside this repository, whose package.json says "type": "module": Node would
# load python.js (CommonJS: it uses __dirname) as an ES module and fail. Mark the tree CommonJS.
[ -f "$out/package.json" ] || echo '{ "type": "commonjs" }' >"$out/package.json"

# --- sources and tools -----------------------------------------------------------------------------
if [ ! -f "$src/.complete" ]; then
  step "fetch CPython 3.11.2 sources" "$logs/emscripten-fetch.log" bash "$here/fetch-cpython.sh" --no-stdlib
fi
[ -x "$BUILD_PYTHON" ] || { say "no build Python $BUILD_PYTHON (apt-get install python3.11)"; exit 1; }
"$BUILD_PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' ||
  { say "$BUILD_PYTHON is not a CPython 3.11"; exit 1; }
[ -x /usr/bin/emcc ] || { say "no /usr/bin/emcc (apt-get install emscripten)"; exit 1; }

emcc_version=$(cat /usr/share/emscripten/emscripten-version.txt 2>/dev/null || /usr/bin/emcc --version | head -n1)
emcc_version=${emcc_version//\"/}

# Hard links: a second to make; new files (__pycache__/) land in the copy's own directories.
if [ ! -f "$srccopy/.complete" ]; then
  rm -rf "$srccopy" "$srccopy.tmp"
  cp -al "$src" "$srccopy.tmp"
  mv "$srccopy.tmp" "$srccopy"
fi

# --- emcc for compile-only calls ---------------------------------------------------------------
# Every emcc call starts Python (~0.4 s). For a compile-only call (-c, -E) of C files with plain
# flags, emcc 3.1.6 runs one clang command: its own flags followed by the caller's arguments
# (only -fvisibility=default is left out when the caller passes -fvisibility=...). The wrapper
# `emcc` in $fastbin, first on PATH (configure and the Makefile say CC=emcc), runs that command
# itself, the flags captured with `emcc -v`. Only calls made of -c/-E, -o, *.c and flags emcc
# passes through unchanged (-D -U -I -W -w -f -std= -O0..3/s/z -g -M...) take the shortcut;
# every other call goes to the real emcc: links, -s settings, C++, assembler, -pthread, -fPIC,
# -flto, and the flags emcc rewrites or rejects (-g0..-g3, -gsource-map, -Og: configure's
# "accepts -Og" check must keep failing). It is used only if it gives byte-identical objects and
# preprocessor output for a probe. A configure run with it gives the same config.cache as one
# without (checked; notes).
make_fast_emcc() {
  rm -rf "$fastbin" "$fastbin.tmp"
  mkdir -p "$fastbin.tmp"
  cd "$fastbin.tmp" || return 1
  printf '#include <stdio.h>\n#include <time.h>\nstatic int hidden(int x) { return x * 3; }\nint visible(const char *s) { return printf("%%s %%d %%ld\\n", s, hidden(__LINE__), (long)time(0)); }\n' >probe.c
  local verbose line
  verbose=$(/usr/bin/emcc -v -c probe.c -o probe.o 2>&1) || { echo "$verbose"; return 1; }
  line=$(echo "$verbose" | grep -E '^ *"?/[^ ]*clang[^ ]*"? ' | head -n1)
  [ -n "$line" ] || { echo "no clang command in: $verbose"; return 1; }
  "$BUILD_PYTHON" - "$line" >emcc <<'PY' || return 1
import shlex, sys
argv = shlex.split(sys.argv[1])
tail = ['-v', '-c', 'probe.c', '-o', 'probe.o']
if argv[-len(tail):] != tail:
    sys.exit('unexpected clang command from emcc -v: %r' % argv)
clang, prefix = argv[0], argv[1:-len(tail)]
novis = [a for a in prefix if a != '-fvisibility=default']
q = lambda args: ' '.join(shlex.quote(a) for a in args)
print(f"""#!/bin/sh
# Written by build-emscripten-python.sh (wrapper 2): a compile-only emcc call of C files runs the clang
# command emcc 3.1.6 would run (captured with emcc -v); anything else goes to the real emcc.
real=/usr/bin/emcc
[ -z "${{EMCC_CFLAGS:-}}" ] || exec "$real" "$@"
mode= vis= skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$a" in
    -c|-E) mode=1 ;;
    -o|-MF|-MT|-MQ|-I|-D|-U|-isystem|-iquote|-idirafter) skip=1 ;;
    -fvisibility*) vis=1 ;;
    -Wl,*|-fPIC|-fpic|-fPIE|-fpie|-flto*|-fexceptions|-fno-exceptions|-fwasm-exceptions|-fsanitize*) exec "$real" "$@" ;;
    -D*|-U*|-I*|-W*|-w|-f*|-std=*|-O|-O[0-3sz]|-g|-M|-MM|-MD|-MMD|-MP|-isystem*|-iquote*) ;;
    *.c) ;;
    *) exec "$real" "$@" ;;
  esac
done
[ -n "$mode" ] || exec "$real" "$@"
if [ -n "$vis" ]; then exec {shlex.quote(clang)} {q(novis)} "$@"; fi
exec {shlex.quote(clang)} {q(prefix)} "$@"
""")
PY
  chmod +x emcc
  local flags
  for flags in "-O2 -g" "-O3 -fwrapv -fvisibility=hidden -DNDEBUG -std=c11 -Wall"; do
    /usr/bin/emcc $flags -c probe.c -o real.o || return 1
    ./emcc $flags -c probe.c -o fast.o || return 1
    cmp real.o fast.o || return 1
    /usr/bin/emcc $flags -E probe.c -o real.i || return 1
    ./emcc $flags -E probe.c -o fast.i || return 1
    cmp real.i fast.i || return 1
  done
  rm -f probe.* real.* fast.*
  cd "$out" && mv "$fastbin.tmp" "$fastbin"
}

if [ "$FAST_EMCC" = 1 ]; then
  if [ ! -x "$fastbin/emcc" ] || ! grep -q 'wrapper 2' "$fastbin/emcc"; then
    if (make_fast_emcc) >"$logs/emscripten-fast-emcc.log" 2>&1; then
      say "compile-only emcc calls go straight to clang ($fastbin/emcc)"
    else
      say "not using the compile-only emcc shortcut: $(tail -n1 "$logs/emscripten-fast-emcc.log")"
      rm -rf "$fastbin" "$fastbin.tmp"
    fi
  fi
  if [ -x "$fastbin/emcc" ]; then export PATH="$fastbin:$PATH"; fi
fi

# --- zlib and bzip2 for wasm32-emscripten ---------------------------------------------------------
fetch_dep_sources() {
  if ls "$downloads"/zlib_1.2.13*.orig.tar.* "$downloads"/bzip2_1.0.8*.orig.tar.* >/dev/null 2>&1; then return 0; fi
  local list=/etc/apt/sources.list.d/pywasm-assets-deb-src.sources
  if [ ! -f "$list" ]; then
    sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$list"
  fi
  if ! ls /var/lib/apt/lists/*_source_Sources* >/dev/null 2>&1; then apt-get update -qq; fi
  (cd "$downloads" && apt-get source -qq --download-only zlib/bookworm bzip2/bookworm) || {
    apt-get update -qq
    (cd "$downloads" && apt-get source -qq --download-only zlib/bookworm bzip2/bookworm)
  }
}

build_zlib() {
  local w="$deps/.work/zlib"
  rm -rf "$w" && mkdir -p "$w"
  tar -xf "$(ls "$downloads"/zlib_1.2.13*.orig.tar.* | head -n1)" -C "$w" --strip-components=1
  cd "$w"
  # zlib's own configure works out zconf.h (unistd.h, stdarg.h) for emcc.
  CFLAGS="-O2" emconfigure ./configure --static --prefix="$deps"
  emmake make -j"$JOBS" libz.a
  mkdir -p "$deps/lib" "$deps/include"
  cp libz.a "$deps/lib/"
  cp zlib.h zconf.h "$deps/include/"
}

build_bzip2() {
  local w="$deps/.work/bzip2"
  rm -rf "$w" && mkdir -p "$w"
  tar -xf "$(ls "$downloads"/bzip2_1.0.8*.orig.tar.* | head -n1)" -C "$w" --strip-components=1
  cd "$w"
  emmake make -j"$JOBS" libbz2.a CC=emcc AR=emar RANLIB=emranlib CFLAGS="-O2 -D_FILE_OFFSET_BITS=64 -Wall"
  mkdir -p "$deps/lib" "$deps/include"
  cp libbz2.a "$deps/lib/"
  cp bzlib.h "$deps/include/"
}

if [ ! -f "$deps/.complete" ] || [ "$(cat "$deps/.complete")" != "$emcc_version" ]; then
  rm -rf "$deps"
  mkdir -p "$deps/.work"
  step "apt-get source zlib/bookworm bzip2/bookworm" "$logs/emscripten-deps-fetch.log" fetch_dep_sources
  step "zlib 1.2.13 (emcc)" "$logs/emscripten-zlib.log" build_zlib
  step "bzip2 1.0.8 (emcc)" "$logs/emscripten-bzip2.log" build_bzip2
  rm -rf "$deps/.work"
  echo "$emcc_version" >"$deps/.complete"
fi

# --- configure + make per target -----------------------------------------------------------------
configure_args() { # TARGET
  echo --host=wasm32-unknown-emscripten --build="$("$srccopy/config.guess")" \
    --with-emscripten-target="$1" --with-build-python="$BUILD_PYTHON" --disable-test-modules
}

# Everything configure reads from the environment (precious variables) is the same for both
# targets, so that one config.cache serves both.
configure_env=(
  CONFIG_SITE="$srccopy/Tools/wasm/config.site-wasm32-emscripten"
  LDFLAGS="-sWASM_ASYNC_COMPILATION=0"
  ZLIB_CFLAGS="-I$deps/include" ZLIB_LIBS="-L$deps/lib -lz"
  BZIP2_CFLAGS="-I$deps/include" BZIP2_LIBS="-L$deps/lib -lbz2"
  LIBSQLITE3_CFLAGS="" LIBSQLITE3_LIBS="-lsqlite3"
  # configure checks libc first, then -lrt (which emcc takes as an empty library): both say no.
  ac_cv_func_clock_nanosleep=no ac_cv_lib_rt_clock_nanosleep=no
)

# What both targets share: with the same shared key, one target's config.cache and objects serve
# the other. A target's key adds its name.
shared_key() {
  echo "recipe=$RECIPE emcc=$emcc_version python=$("$BUILD_PYTHON" -c 'import sys; print(sys.version.split()[0])')" \
    "configure: ${configure_env[*]} $(configure_args TARGET)" | sha256sum | cut -c1-16
}
recipe_key() { echo "$(shared_key) $1"; }

# What a config.cache seed must have been written for: the toolchain, the configure script, the
# config.site and the configure line, with this checkout's path taken out.
seed_guard() {
  local line="emcc $emcc_version; $(clang-14 --version 2>/dev/null | head -n1); python $("$BUILD_PYTHON" -c 'import sys; print(sys.version.split()[0])')"
  line+="; configure $(sha256sum <"$srccopy/configure" | cut -c1-16)"
  line+="; config.site $(sha256sum <"$srccopy/Tools/wasm/config.site-wasm32-emscripten" | cut -c1-16)"
  line+="; line $(echo "${configure_env[*]} $(configure_args TARGET)" | sed "s|$root|ROOT|g" | sha256sum | cut -c1-16)"
  echo "# pywasm-assets config.cache seed for: $line"
}

# A config.cache with only configure's answers: not the recorded environment (ac_cv_env_*,
# paths of this checkout) nor what pkg-config answers from it, nor node's HOSTRUNNER checks.
portable_cache() { # CONFIG.CACHE
  grep -v -E '^(ac_cv_env_|pkg_cv_|ac_cv_tool_node_|ac_cv_path_NODE=|ac_cv_path_ac_pt_NODE=)' "$1"
}

do_configure() { # TARGET DIR
  cd "$2"
  env "${configure_env[@]}" emconfigure "$srccopy/configure" -C $(configure_args "$1")
}

do_make() { # DIR
  cd "$1"
  # The default goal (build_wasm) minus python-config: python.js (for the browser target it
  # depends on the wasm_stdlib assets, python.html and python.worker.js), pybuilddir.txt (writes
  # the sysconfigdata) and platform.
  emmake make -j"$JOBS" python.js pybuilddir.txt platform
}

# The Makefile lines that decide how objects are compiled.
compile_vars() { # MAKEFILE
  grep -E '^(CC|CXX|MAINCC|OPT|BASECFLAGS|CONFIGURE_CFLAGS|CONFIGURE_CFLAGS_NODIST|CONFIGURE_CPPFLAGS|CFLAGS_ALIASING|CCSHARED|BASECPPFLAGS|CFLAGS_NODIST|CFLAGS|CPPFLAGS|MODULE_[A-Z0-9_]+_(CFLAGS|STATE|LDFLAGS)|LIBSQLITE3_CFLAGS|ZLIB_CFLAGS|BZIP2_CFLAGS|MODOBJS|LIBRARY_OBJS_OMIT_FROZEN)[[:space:]]*=' "$1"
}

# Copies the other target's objects, archives and generated sources into DIR, all with one
# mtime newer than DIR's configure outputs, so that make only links. Refuses unless both
# configurations compile alike.
reuse_objects() { # FROM DIR
  local from=$1 dir=$2
  cmp -s "$from/pyconfig.h" "$dir/pyconfig.h" || { echo "pyconfig.h differs"; return 1; }
  diff <(compile_vars "$from/Makefile") <(compile_vars "$dir/Makefile") || { echo "compile flags differ"; return 1; }
  local stamp f
  stamp=$(date +%s.%N)
  (cd "$from" && find . -type f \( -name '*.o' -o -name '*.a' -o -path './Modules/config.c' \
    -o -path './Python/deepfreeze/*' -o -path './Python/frozen_modules/*' \) -print) >"$dir/.reuse-list"
  while read -r f; do
    mkdir -p "$dir/$(dirname "$f")"
    cp "$from/$f" "$dir/$f"
    touch -d "@$stamp" "$dir/$f"
  done <"$dir/.reuse-list"
  echo "copied $(wc -l <"$dir/.reuse-list") files from $from"
  rm -f "$dir/.reuse-list"
}

build_target() { # TARGET
  local target=$1 dir="$out/$1" other=browser
  [ "$target" = browser ] && other=node
  local key shared
  key=$(recipe_key "$target")
  shared=$(shared_key)
  if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$key" ]; then
    say "$target: complete ($dir)"
    return 0
  fi
  rm -f "$dir/.complete"
  # The other target, configured by the same recipe: its answers and objects serve this one.
  local same=0
  if [ -f "$out/$other/.configured" ] && [ "$(cut -d' ' -f1 "$out/$other/.configured")" = "$shared" ]; then same=1; fi
  if [ ! -f "$dir/.configured" ] || [ "$(cat "$dir/.configured")" != "$key" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    local seeded=0
    if [ "$same" = 1 ] && [ -f "$out/$other/config.cache" ]; then
      # Only link flags differ between the targets, and configure's tests do not use them.
      portable_cache "$out/$other/config.cache" >"$dir/config.cache"
      seeded=1
      say "$target: configure starts from the $other build's config.cache"
    elif [ "$CONFIG_CACHE_SEED" = 1 ] && [ -f "$seed" ]; then
      if [ "$(head -n1 "$seed")" = "$(seed_guard)" ]; then
        tail -n +2 "$seed" >"$dir/config.cache"
        seeded=1
        say "$target: configure starts from ${seed#"$root"/}"
      else
        say "$target: not using ${seed#"$root"/}: written for another toolchain, source or configure line"
      fi
    fi
    step "$target: configure" "$logs/emscripten-$target-configure.log" do_configure "$target" "$dir"
    if [ "$CONFIG_CACHE_SEED" = write ] && [ "$seeded" = 0 ]; then
      { seed_guard; portable_cache "$dir/config.cache"; } >"$seed.tmp" && mv "$seed.tmp" "$seed"
      say "wrote ${seed#"$root"/}"
    fi
    if [ "$REUSE_OBJECTS" = 1 ] && [ "$same" = 1 ] && [ -f "$out/$other/.complete" ]; then
      local log="$logs/emscripten-$target-reuse.log"
      if reuse_objects "$out/$other" "$dir" >"$log" 2>&1; then
        say "$target: reusing the $other build's objects ($(tail -n1 "$log"))"
      else
        say "$target: compiling, not reusing the $other build's objects: $(tail -n1 "$log")"
      fi
    fi
    # Written last: an interrupted configure or copy is redone from scratch.
    echo "$key" >"$dir/.configured"
  fi
  step "$target: make -j$JOBS" "$logs/emscripten-$target-make.log" do_make "$dir"
  for f in python.js python.wasm pybuilddir.txt "$SYSCONFIGDATA"; do
    [ -s "$dir/$f" ] || { say "$target: no $f after make"; exit 1; }
  done
  if [ "$target" = browser ] && [ ! -s "$dir/python.data" ]; then say "$target: no python.data after make"; exit 1; fi
  echo "$key" >"$dir/.complete"
  say "$target: complete ($dir)"
}

case "$what" in
browser | node) build_target "$what" ;;
all)
  build_target browser
  build_target node
  ;;
esac
say "done in $(($(date +%s) - T0)) s"
