/**
 * Runs the real reference, the `Tools/wasm/wasm_assets.py` of a CPython source tree fetched
 * by `test/support/fetch-cpython.sh` (3.11.2, or 3.13.15 with the native interpreter that
 * `test/support/build-native-python.sh 3.13.15` builds), and reports what it put in the zip.
 * The acceptance test compares `pack({ profile: 'cpython' })` with this, entry by entry.
 *
 * The script is run the way the build's Makefile runs it (Makefile.pre.in `wasm_stdlib`, the
 * same rule in 3.11 and 3.13):
 * `$(PYTHON_FOR_BUILD) $(srcdir)/Tools/wasm/wasm_assets.py --buildroot . --prefix $(prefix)`
 * from the build root, where `PYTHON_FOR_BUILD` (configure.ac, cross builds) is, in 3.11,
 *   _PYTHON_PROJECT_BASE=$(abs_builddir) _PYTHON_HOST_PLATFORM=$(_PYTHON_HOST_PLATFORM)
 *   PYTHONPATH=$(abs_builddir)/`cat pybuilddir.txt`:$(srcdir)/Lib
 *   _PYTHON_SYSCONFIGDATA_NAME=_sysconfigdata_$(ABIFLAGS)_$(MACHDEP)_$(MULTIARCH) <build python>
 * and in 3.13 (configure.ac l.167) the build directory left PYTHONPATH ("foreign modules in
 * sys.path can cause crashes", Lib/sysconfig/__init__.py) for a variable of its own:
 *   ... PYTHONPATH=$(srcdir)/Lib _PYTHON_SYSCONFIGDATA_NAME=...
 *   _PYTHON_SYSCONFIGDATA_PATH=$(abs_builddir)/`cat pybuilddir.txt` <build python>
 * Which form a tree uses is read from its configure.ac. The script needs two of these
 * variables: `sysconfig._get_sysconfigdata_name()` reads `_PYTHON_SYSCONFIGDATA_NAME` (which
 * file to load from the build dir) and `sysconfig.get_platform()` returns
 * `_PYTHON_HOST_PLATFORM` (`emscripten-wasm32` turns on the networking omit list). It reads
 * the sysconfigdata by path (pybuilddir.txt + that name) and execs it, never imports it, so
 * the PYTHONPATH difference does not change its output. It also reads `pybuilddir.txt`
 * relative to the current directory, not to `--buildroot`, so the working directory must be
 * the build root. The interpreter must be of the tree's X.Y: it compiles the pycs, and the
 * script names the zip and `lib/python3.X/` after its `sys.version_info`.
 *
 * The script writes `__pycache__/` next to every source it compiles and its outputs into the
 * build root, so both the source tree (Lib/ and Tools/wasm/ only) and the build root are
 * copied to a temporary directory first. Results are cached under `.cache/reference/`,
 * keyed by a hash of every input (Lib/ contents, the script, the build root, the prefix,
 * the interpreter's version), so reruns cost only the hashing (~0.3 s).
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';

const run = promisify(execFile);

/** The repository root (two levels above this file). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where `fetch-cpython.sh` extracts the 3.11.2 source tarball. */
export const cpythonSrcdir = join(repoRoot, '.cache/cpython-3.11.2');
/** Where `fetch-cpython.sh <version>` extracts a CPython source tarball. */
export const cpythonSrcdirFor = (version: string): string => join(repoRoot, `.cache/cpython-${version}`);
/** The interpreter `build-native-python.sh <version>` installs: `.cache/python-3.13.15/bin/python3.13`. */
export const nativePythonFor = (version: string): string =>
  join(repoRoot, `.cache/python-${version}/bin/python${version.split('.').slice(0, 2).join('.')}`);
/** CPython 3.13.15: sources (`fetch-cpython.sh 3.13.15`) and native build (`build-native-python.sh 3.13.15`). */
export const cpython313Srcdir = cpythonSrcdirFor('3.13.15');
export const python313 = nativePythonFor('3.13.15');
/** Where `fetch-cpython.sh` unpacks Debian's installed stdlib (`usr/lib/python3.11`). */
export const debianStdlib = join(repoRoot, '.cache/debian-stdlib/usr/lib/python3.11');
/** Build-root fixtures (see test/fixtures/builds/README.txt). */
export const buildFixtures = join(repoRoot, 'test/fixtures/builds');

/** Bump when the way the reference is run changes, to drop stale cache entries. */
const CACHE_FORMAT = 1;

export interface ReferenceOptions {
  /** A CPython source tree (3.11 to 3.13) with `Lib/`, `Tools/wasm/wasm_assets.py`, `Include/patchlevel.h` and `configure.ac`. */
  srcdir: string;
  /** A build root: `Makefile`, `pybuilddir.txt` and the sysconfigdata module it names. */
  builddir: string;
  /** @default '/usr/local' */
  prefix?: string;
  /**
   * The build interpreter; must be of the tree's X.Y.
   * @default 'python3.11' for a 3.11 tree, else the native build `.cache/python-<version>/bin/python3.X`
   */
  python?: string;
  /** Cache directory, or false to always run the script. @default <repo>/.cache/reference */
  cacheDir?: string | false;
}

export interface ReferenceRun {
  /** Zip entry names, in the zip's order. */
  entries: string[];
  /** Entries stored as `.py` because their source failed to compile. */
  sourceEntries: string[];
  /** The omit list the script applied, relative to Lib/, sorted; directories end with `/`. */
  omit: string[];
  /** Omit-list paths that do not exist in this Lib/. */
  omitMissing: string[];
  /** Extension-module availability as the script computed it (Makefile + sysconfigdata). */
  modules: Record<string, boolean>;
  /** What `sysconfig.get_platform()` and `_get_sysconfigdata_name()` returned in the script. */
  platform: string;
  sysconfigdataName: string;
  /** The tree's version (Include/patchlevel.h), e.g. `3.13.15`. */
  version: string;
  /** The environment variables set for the script (besides the inherited ones), with `<build root>` and `<srcdir>` for the temporary copies. */
  env: Record<string, string>;
  /** The script's stdout (it prints compile errors there) and stderr (`Created ...`). */
  stdout: string;
  stderr: string;
  /** True when the result came from the cache. */
  cached: boolean;
}

/** Runs the reference and returns the zip's entry names in order. */
export async function runReference(options: ReferenceOptions): Promise<string[]> {
  return (await runReferenceDetailed(options)).entries;
}

/**
 * Runs the reference and returns its entries plus what it decided on the way. The script
 * itself runs unmodified: a wrapper loads it with runpy and calls its `main()`, spying on
 * two of its functions only to record their inputs (the omit set and the module map).
 */
export async function runReferenceDetailed(options: ReferenceOptions): Promise<ReferenceRun> {
  const srcdir = resolve(options.srcdir);
  const builddir = resolve(options.builddir);
  const prefix = options.prefix ?? '/usr/local';
  const script = join(srcdir, 'Tools/wasm/wasm_assets.py');
  const patchlevel = join(srcdir, 'Include/patchlevel.h');
  for (const p of [join(srcdir, 'Lib/os.py'), script, patchlevel, join(builddir, 'Makefile'), join(builddir, 'pybuilddir.txt')]) {
    if (!existsSync(p)) throw new Error(`runReference: missing ${p} (run bash test/support/fetch-cpython.sh [version]?)`);
  }
  const version = /^#define PY_VERSION\s+"([^"]+)"/m.exec(readFileSync(patchlevel, 'utf8'))?.[1];
  if (!version) throw new Error(`runReference: no PY_VERSION in ${patchlevel}`);
  const short = version.split('.').slice(0, 2).join('.');
  const python = options.python ?? (short === '3.11' ? 'python3.11' : nativePythonFor(version));
  // configure.ac's PYTHON_FOR_BUILD (cross builds): since 3.13 the build dir is passed as
  // _PYTHON_SYSCONFIGDATA_PATH instead of being put on PYTHONPATH.
  const sysconfigdataPathVar = readFileSync(join(srcdir, 'configure.ac'), 'utf8').includes('_PYTHON_SYSCONFIGDATA_PATH=');
  const makefile = readMakefileVars(readFileSync(join(builddir, 'Makefile'), 'utf8'));
  // wasm_assets.py reads pybuilddir.txt without stripping it; CPython writes it without a newline.
  const pybuilddir = readFileSync(join(builddir, 'pybuilddir.txt'), 'utf8');

  let pyVersion: string;
  try {
    ({ stdout: pyVersion } = await run(python, ['-c', 'import sys; print(sys.version)']));
  } catch (err) {
    const hint = options.python ? '' : ` (build it: bash test/support/build-native-python.sh ${version})`;
    throw new Error(`runReference: cannot run the build interpreter ${python}${hint}: ${(err as Error).message}`);
  }
  if (!pyVersion.startsWith(`${short}.`)) {
    throw new Error(`runReference: ${python} is ${pyVersion.split(' ')[0]} but ${srcdir} is ${version}; pass python: a Python ${short}`);
  }
  const cacheDir = options.cacheDir === undefined ? join(repoRoot, '.cache/reference') : options.cacheDir;
  const key = cacheDir
    ? hashInputs([
        `format ${CACHE_FORMAT}`,
        `python ${pyVersion.trim()}`,
        `prefix ${prefix}`,
        WRAPPER,
        // Only for the 3.13 form, so that 3.11 keys (and cached 3.11 results) stay as they were.
        ...(sysconfigdataPathVar ? ['env _PYTHON_SYSCONFIGDATA_PATH'] : []),
        ['script', readFileSync(script)],
        ...hashTree(join(srcdir, 'Lib'), 'Lib'),
        ...hashTree(builddir, 'build'),
      ])
    : '';
  const cacheFile = cacheDir ? join(cacheDir, `${key}.json`) : '';
  if (cacheFile && existsSync(cacheFile)) {
    return { ...(JSON.parse(readFileSync(cacheFile, 'utf8')) as ReferenceRun), version, cached: true };
  }

  const tmp = mkdtempSync(join(tmpdir(), 'pywasm-reference-'));
  try {
    const src = join(tmp, 'src');
    const build = join(tmp, 'build');
    linkTree(join(srcdir, 'Lib'), join(src, 'Lib'));
    linkTree(join(srcdir, 'Tools/wasm'), join(src, 'Tools/wasm'));
    linkTree(builddir, build);

    const env: Record<string, string> = {
      _PYTHON_PROJECT_BASE: build,
      _PYTHON_HOST_PLATFORM: makefile._PYTHON_HOST_PLATFORM || 'emscripten-wasm32',
      PYTHONPATH: sysconfigdataPathVar ? join(src, 'Lib') : `${join(build, pybuilddir)}:${join(src, 'Lib')}`,
      _PYTHON_SYSCONFIGDATA_NAME: `_sysconfigdata_${makefile.ABIFLAGS ?? ''}_${makefile.MACHDEP ?? 'emscripten'}_${
        makefile.MULTIARCH ?? 'wasm32-emscripten'
      }`,
      ...(sysconfigdataPathVar ? { _PYTHON_SYSCONFIGDATA_PATH: join(build, pybuilddir) } : {}),
    };
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith('PYTHON') && !k.startsWith('_PYTHON') && k !== 'SOURCE_DATE_EPOCH',
      ),
    ) as Record<string, string>;
    const report = join(tmp, 'report.json');
    const args = ['-c', WRAPPER, join(src, 'Tools/wasm/wasm_assets.py'), report, '--buildroot', '.', '--prefix', prefix];
    let stdout: string;
    let stderr: string;
    try {
      ({ stdout, stderr } = await run(python, args, { cwd: build, env: { ...inherited, ...env }, maxBuffer: 64 << 20 }));
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`runReference: wasm_assets.py failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
    const seen = JSON.parse(readFileSync(report, 'utf8')) as {
      modules: Record<string, boolean>;
      omit: string[];
      omitMissing: string[];
      platform: string;
      sysconfigdataName: string;
      zip: string;
    };
    const entries = listZipEntries(readFileSync(seen.zip));
    const result: ReferenceRun = {
      entries,
      sourceEntries: entries.filter((e) => e.endsWith('.py')),
      omit: seen.omit,
      omitMissing: seen.omitMissing,
      modules: seen.modules,
      platform: seen.platform,
      sysconfigdataName: seen.sysconfigdataName,
      version,
      env: Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, v.replaceAll(build, '<build root>').replaceAll(src, '<srcdir>')]),
      ),
      stdout,
      stderr: stderr.replaceAll(tmp, '<tmp>'),
      cached: false,
    };
    if (cacheFile) {
      mkdirSync(dirname(cacheFile), { recursive: true });
      writeFileSync(`${cacheFile}.tmp`, JSON.stringify(result, null, 1));
      renameSync(`${cacheFile}.tmp`, cacheFile);
    }
    return result;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Recreates `from` at `to` (skipping __pycache__) with hard links where possible, copies
 * elsewhere. Safe here because the script only adds files (new __pycache__/ directories,
 * its outputs) and never writes to an existing one; a 46 MB Lib/ links in ~0.2 s.
 */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const ent of readdirSync(from, { withFileTypes: true })) {
    if (ent.name === '__pycache__') continue;
    const a = join(from, ent.name);
    const b = join(to, ent.name);
    if (ent.isDirectory()) linkTree(a, b);
    else if (ent.isFile()) {
      try {
        linkSync(a, b);
      } catch {
        copyFileSync(a, b);
      }
    } else cpSync(a, b, { verbatimSymlinks: true });
  }
}

/** Zip entry names in central-directory order, without inflating anything. */
export function listZipEntries(zip: Uint8Array): string[] {
  const names: string[] = [];
  unzipSync(zip, {
    filter(file) {
      names.push(file.name);
      return false;
    },
  });
  return names;
}

/** `NAME= value` lines of a Makefile (first definition wins; values trimmed). */
function readMakefileVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*\??=(.*)$/.exec(line);
    if (m && !(m[1] in vars)) vars[m[1]] = m[2].trim();
  }
  return vars;
}

type HashPart = string | [string, Uint8Array];

function hashInputs(parts: HashPart[]): string {
  const h = createHash('sha256');
  for (const part of parts) {
    if (typeof part === 'string') h.update(`${part.length}:${part}\n`);
    else h.update(`${part[0]} ${part[1].length}\n`).update(part[1]);
  }
  return h.digest('hex').slice(0, 32);
}

/** Every file under `dir` (sorted, skipping __pycache__) as [label/relative path, bytes]. */
function hashTree(dir: string, label: string): HashPart[] {
  const out: HashPart[] = [];
  const walk = (d: string) => {
    for (const ent of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (ent.name === '__pycache__') continue;
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else out.push([posix.join(label, relative(dir, p).split('\\').join('/')), readFileSync(p)]);
    }
  };
  walk(dir);
  return out;
}

/**
 * Loads wasm_assets.py as a module (its `if __name__ == "__main__"` guard keeps it from
 * starting), wraps detect_extension_modules() and create_stdlib_zip() to record their
 * arguments/results, then calls its own main() with the original command line.
 * argv: wrapper.py <script> <report.json> <script args...>
 */
const WRAPPER = String.raw`
import json, runpy, sys, sysconfig
script, report = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
g = runpy.run_path(script, run_name="wasm_assets")["main"].__globals__
seen = {"platform": sysconfig.get_platform(), "sysconfigdataName": sysconfig._get_sysconfigdata_name()}
detect, create = g["detect_extension_modules"], g["create_stdlib_zip"]
def detect_spy(args):
    seen["modules"] = detect(args)
    return seen["modules"]
def create_spy(args, **kwargs):
    lib = args.srcdir_lib.resolve()
    rel = [(p.relative_to(lib).as_posix(), p) for p in args.omit_files_absolute]
    seen["omit"] = sorted(r + "/" if p.is_dir() else r for r, p in rel)
    seen["omitMissing"] = sorted(r for r, p in rel if not p.exists())
    seen["zip"] = str(args.wasm_stdlib_zip)
    return create(args, **kwargs)
g["detect_extension_modules"], g["create_stdlib_zip"] = detect_spy, create_spy
try:
    g["main"]()
finally:
    with open(report, "w") as f:
        json.dump(seen, f)
`;
