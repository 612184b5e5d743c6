/**
 * Build facts: what a CPython build root says about the target. Reads
 * `pybuilddir.txt`, the `Makefile` and the target's `_sysconfigdata_*.py`
 * (parsed as a Python literal, never executed), and decides which extension
 * modules the target has, the way `Tools/wasm/wasm_assets.py` (3.11) does:
 * 1. every name on the Makefile's `MODDISABLED_NAMES=` line is unavailable;
 * 2. then each `MODULE_<NAME>_STATE` build variable: `yes` = available,
 *    `disabled` / `missing` / `n/a` = unavailable, anything else is an error;
 *    step 1 wins where both speak;
 * 3. a module named by neither counts as unavailable.
 */
import path from 'node:path';
import { PackError } from '../../errors.js';
import { readFailure, readRegularFile } from '../../read-file.js';
import { parsePythonDictLiteral, readDictAmidCode, type PyValue } from './literal.js';
import type { PackFs, PackTarget } from '../../types.js';

export interface ModuleFact {
  available: boolean;
  /** Why, for `--explain`: e.g. `MODULE__SSL_STATE = 'missing' in /abs/_sysconfigdata...py`. */
  evidence: string;
}

export interface BuildFacts {
  /** Platform of the target for rule conditions. */
  platform: 'emscripten' | 'wasi';
  /** Extension modules by import name. */
  modules: Map<string, ModuleFact>;
  /** Absolute path of the target's sysconfigdata module, if any. */
  sysconfigdataPath?: string;
  /** Module name of the sysconfigdata, e.g. `_sysconfigdata__emscripten_wasm32-emscripten`. */
  sysconfigdataName?: string;
  /** Raw sysconfigdata source bytes (shipped in the zip like the reference does). */
  sysconfigdataSource?: Uint8Array;
  /** Where the facts came from, for the summary. */
  source: string;
  /** Variables read from the Makefile (raw values). */
  makefile?: Map<string, string>;
  /** The sysconfigdata's build_time_vars (parsed, never run). */
  sysconfigVars?: Map<string, PyValue>;
  makefilePath?: string;
}

const KNOWN_STATES = new Set(['yes', 'disabled', 'missing', 'n/a']);

/** Reads `NAME=value` assignments (first one wins; `\` continuations joined). */
export function parseMakefile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of lines) {
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)\s*[:?]?=\s*(.*)$/.exec(line);
    if (m && !vars.has(m[1])) vars.set(m[1], m[2].trim());
  }
  return vars;
}

/** Expands `$(VAR)` and `${VAR}` from `vars`; unknown variables expand to ''. */
export function expandMakeVars(value: string, vars: Map<string, string>, depth = 0): string {
  if (depth > 10) return value;
  return value.replace(/\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]/g, (_, name: string) =>
    expandMakeVars(vars.get(name) ?? '', vars, depth + 1),
  );
}

/**
 * The interpreter named by `PYTHON_FOR_BUILD`, which configure writes as
 * `VAR=value ... VAR=value <python>` (env assignments, some with `$(shell ...)`
 * holding spaces, then the command). Returns undefined when there is none.
 */
export function pythonForBuild(vars: Map<string, string>): string | undefined {
  const raw = vars.get('PYTHON_FOR_BUILD');
  if (!raw) return undefined;
  const words: string[] = [];
  let word = '';
  let depth = 0;
  // Shell quotes too: WASI builds set _PYTHON_HOSTRUNNER='wasmtime run ... --' first.
  let quote: string | undefined;
  for (const ch of raw) {
    if (quote) {
      if (ch === quote) quote = undefined;
      word += ch;
      continue;
    }
    if ((ch === "'" || ch === '"' || ch === '`') && depth === 0) quote = ch;
    if (ch === '(' || ch === '{') depth++;
    if (ch === ')' || ch === '}') depth = Math.max(0, depth - 1);
    if (/\s/.test(ch) && depth === 0 && !quote) {
      if (word) words.push(word);
      word = '';
    } else word += ch;
  }
  if (word) words.push(word);
  const command = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
  if (!command) return undefined;
  const quoted = /^(['"])(.*)\1$/.exec(command);
  if (quoted) return expandMakeVars(quoted[2], vars) || undefined;
  const expanded = expandMakeVars(command, vars).trim().split(/\s+/)[0];
  return expanded || undefined;
}

/** Which platform a sysconfigdata module name is for. */
export function platformOfSysconfigdata(name: string): 'emscripten' | 'wasi' | undefined {
  if (/_emscripten/.test(name)) return 'emscripten';
  if (/_wasi/.test(name)) return 'wasi';
  return undefined;
}

/**
 * The target a build is for, from its build facts, Makefile first: WASI, or
 * Emscripten's `--with-emscripten-target=node|browser` (configure's CONFIG_ARGS),
 * or a node build's `-sNODERAWFS` link flag (3.11's node target links with it:
 * the program reads the host's files directly). A build that says nothing is a
 * browser build (configure's default). The sysconfigdata name alone cannot tell
 * node from browser: both are `_sysconfigdata__emscripten_wasm32-emscripten`.
 */
export function defaultTarget(facts: Pick<BuildFacts, 'platform' | 'makefile' | 'makefilePath' | 'sysconfigVars' | 'sysconfigdataPath'>): { target: PackTarget; evidence?: string } {
  if (facts.platform === 'wasi') return { target: 'wasi' };
  const sources: [Map<string, unknown> | undefined, string | undefined][] = [[facts.makefile, facts.makefilePath], [facts.sysconfigVars, facts.sysconfigdataPath]];
  for (const [vars, file] of sources) {
    if (!vars) continue;
    const configured = /--with-emscripten-target=(node|browser)\b/.exec(String(vars.get('CONFIG_ARGS') ?? ''));
    if (configured) return { target: `emscripten-${configured[1]}` as PackTarget, evidence: `${configured[0]} in CONFIG_ARGS of ${file}` };
    for (const name of ['CONFIGURE_LDFLAGS_NODIST', 'LDFLAGS_NODIST', 'PY_LDFLAGS_NODIST', 'LINKFORSHARED']) {
      if (/(^|\s)-sNODERAWFS(=1)?(\s|$)/.test(String(vars.get(name) ?? ''))) return { target: 'emscripten-node', evidence: `-sNODERAWFS in ${name} of ${file}` };
    }
  }
  return { target: 'emscripten-browser' };
}

export interface ReadBuildFactsInput {
  fs: PackFs;
  /** Absolute Makefile path, if any. */
  makefilePath?: string;
  /** Absolute sysconfigdata path, if any. */
  sysconfigdataPath?: string;
}

export interface ModuleStates {
  /** Names on the Makefile's `MODDISABLED_NAMES=` line. */
  disabled?: Iterable<string>;
  /** Where `disabled` came from (the Makefile), for evidence text. */
  disabledSource?: string;
  /** `MODULE_<NAME>_STATE` values by lower-cased module name: `{ _lzma: 'missing' }`. */
  states?: Record<string, string>;
  /** Where `states` came from (the sysconfigdata), for evidence text. */
  statesSource?: string;
}

/**
 * Module availability with its evidence, the reference's way: MODDISABLED_NAMES
 * first (unavailable), then each state (`yes` = available). Names in neither are
 * absent from the map (the caller counts them as unavailable).
 */
export function moduleFacts({ disabled, disabledSource, states, statesSource }: ModuleStates): Map<string, ModuleFact> {
  const modules = new Map<string, ModuleFact>();
  const inMakefile = disabledSource ? ` in ${disabledSource}` : '';
  for (const name of disabled ?? []) modules.set(name, { available: false, evidence: `${name} is in MODDISABLED_NAMES${inMakefile}` });
  const inSysconfig = statesSource ? ` in ${statesSource}` : '';
  for (const [name, state] of Object.entries(states ?? {})) {
    if (!modules.has(name)) modules.set(name, { available: state === 'yes', evidence: `MODULE_${name.toUpperCase()}_STATE = '${state}'${inSysconfig}` });
  }
  return modules;
}

/**
 * The `MODULE_<NAME>_STATE` values of parsed build variables, by lower-cased
 * module name; ERR_MODULE_STATE for a value that is none of the four.
 */
function moduleStates(vars: Map<string, PyValue>, file: string): Record<string, string> {
  const states: Record<string, string> = {};
  for (const [key, value] of vars) {
    if (!/^MODULE_[A-Z0-9_]+_STATE$/.test(key)) continue;
    if (typeof value !== 'string' || !KNOWN_STATES.has(value)) {
      throw new PackError(
        'ERR_MODULE_STATE',
        `Unknown value ${JSON.stringify(value)} for ${key} in ${file}; expected one of yes, disabled, missing, n/a.`,
        'Check that the file is the target build\'s sysconfigdata, or fix the value.',
      );
    }
    states[key.slice('MODULE_'.length, -'_STATE'.length).toLowerCase()] = value;
  }
  return states;
}

/**
 * The build facts of a distribution that ships its sysconfigdata in its stdlib
 * (Pyodide): read among the code it holds (readDictAmidCode), never run; its own
 * `MODDISABLED_NAMES` and module states. Shipped unchanged, as the distribution does.
 */
export function readDistributionFacts(fs: PackFs, sysconfigdataPath: string, label: string): BuildFacts {
  const source = readBytes(fs, sysconfigdataPath, 'ERR_SYSCONFIGDATA', 'the sysconfigdata module');
  let vars: Map<string, PyValue>;
  try {
    vars = readDictAmidCode(source, 'build_time_vars');
  } catch (error) {
    throw new PackError('ERR_SYSCONFIGDATA', `Cannot read the build facts of ${label} from ${sysconfigdataPath}: ${(error as Error).message}.`, 'Check that the distribution is intact (reinstall it).', { cause: error });
  }
  const disabled = String(vars.get('MODDISABLED_NAMES') ?? '').split(/\s+/).filter(Boolean);
  const name = path.basename(sysconfigdataPath).replace(/\.py$/, '');
  return {
    platform: platformOfSysconfigdata(name) ?? 'emscripten',
    modules: moduleFacts({ disabled, disabledSource: sysconfigdataPath, states: moduleStates(vars, sysconfigdataPath), statesSource: sysconfigdataPath }),
    sysconfigdataPath,
    sysconfigdataName: name,
    sysconfigdataSource: source,
    sysconfigVars: vars,
    source: `${label} (${sysconfigdataPath})`,
  };
}

/** Reads the Makefile and the sysconfigdata and derives module availability. */
export function readBuildFacts({ fs, makefilePath, sysconfigdataPath }: ReadBuildFactsInput): BuildFacts {
  let makefile: Map<string, string> | undefined;
  let disabled: string[] = [];
  if (makefilePath) {
    const text = readText(fs, makefilePath, 'ERR_MAKEFILE', 'the build root Makefile');
    makefile = parseMakefile(text);
    // Like the reference: the first line that starts exactly with the name.
    const line = text.split(/\r?\n/).find((l) => l.startsWith('MODDISABLED_NAMES='));
    disabled = line ? line.slice('MODDISABLED_NAMES='.length).trim().split(/\s+/).filter(Boolean) : [];
  }
  let sysconfigdataName: string | undefined;
  let sysconfigdataSource: Uint8Array | undefined;
  let platform: 'emscripten' | 'wasi' = 'emscripten';
  let states: Record<string, string> = {};
  let sysconfigVars: Map<string, PyValue> | undefined;
  if (sysconfigdataPath) {
    sysconfigdataName = path.basename(sysconfigdataPath).replace(/\.py$/, '');
    sysconfigdataSource = readBytes(fs, sysconfigdataPath, 'ERR_SYSCONFIGDATA', 'the sysconfigdata module');
    const vars = readSysconfigdataVars(sysconfigdataSource, sysconfigdataPath);
    sysconfigVars = vars;
    platform =
      platformOfSysconfigdata(sysconfigdataName) ??
      (String(vars.get('MACHDEP') ?? '') === 'wasi' ? 'wasi' : 'emscripten');
    states = moduleStates(vars, sysconfigdataPath);
  }
  const modules = moduleFacts({ disabled, disabledSource: makefilePath, states, statesSource: sysconfigdataPath });
  return {
    platform,
    modules,
    sysconfigdataPath,
    sysconfigdataName,
    sysconfigdataSource,
    sysconfigVars,
    makefile,
    makefilePath,
    source: [makefilePath, sysconfigdataPath].filter(Boolean).join(' and '),
  };
}

/** `build_time_vars` of a sysconfigdata module, parsed as a literal. */
export function readSysconfigdataVars(source: Uint8Array | string, file: string): Map<string, PyValue> {
  try {
    return parsePythonDictLiteral(source, 'build_time_vars');
  } catch (error) {
    throw new PackError(
      'ERR_SYSCONFIGDATA',
      `${file} is not a plain sysconfigdata literal: ${(error as Error).message}.`,
      'A sysconfigdata module must be exactly `build_time_vars = {...}` with string keys and str/int values; it is parsed, never run. Pass the file the target build generated.',
      { cause: error },
    );
  }
}

function readBytes(fs: PackFs, file: string, code: 'ERR_MAKEFILE' | 'ERR_SYSCONFIGDATA', what: string): Uint8Array {
  try {
    return readRegularFile(fs, file);
  } catch (error) {
    throw new PackError(code, `Cannot read ${what} at ${file} (${readFailure(error)}).`, 'Check the path given with --builddir or --sysconfigdata.', {
      cause: error,
    });
  }
}

function readText(fs: PackFs, file: string, code: 'ERR_MAKEFILE' | 'ERR_SYSCONFIGDATA', what: string): string {
  return Buffer.from(readBytes(fs, file, code, what)).toString('utf8');
}
