/**
 * The CLI: argv → pack() / explain() → report.ts → exit code.
 * Exit codes: 0 success, 1 failed pack (or warnings under --strict), 2 usage error,
 * 128+N after signal N (SIGHUP, SIGINT, SIGTERM: see interruptible()).
 */
import { constants } from 'node:os';
import yargs from 'yargs';
import { killWorkers } from './interpreter/worker.js';
import { explain, moduleName, pack } from './pack.js';
import { clip, PackError } from './errors.js';
import { formatError, formatExplain, formatExplainOne, formatSummary, formatWarning } from './report.js';
import type { PackOptions, PackProgress } from './types.js';

/** A usage error: printed with a pointer to --help, exit code 2. */
class UsageError extends Error {}

export interface CliIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/** Flags that may be given several times (yargs arrays). */
const REPEATABLE = new Set(['add', 'provides', 'rules', 'keep', 'omit']);

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : ([] as string[]).concat(v as string[]).map(String));

function toOptions(argv: Record<string, any>): PackOptions {
  return {
    pyodide: argv.pyodide,
    builddir: argv.builddir,
    srcdir: argv.srcdir,
    lib: argv.lib,
    sysconfigdata: argv.sysconfigdata,
    buildPython: argv.buildPython,
    prefix: argv.prefix,
    target: argv.target,
    out: argv.out,
    add: list(argv.add),
    provides: list(argv.provides),
    profile: argv.profile,
    rules: list(argv.rules),
    keep: list(argv.keep),
    omit: list(argv.omit),
    optimize: argv.optimize === undefined ? undefined : (Number(argv.optimize) as 0 | 1 | 2),
    invalidation: argv.invalidation,
    debugRanges: argv.debugRanges,
    allowSyntaxErrors: argv.allowSyntaxErrors,
    compression: argv.compression,
    level: argv.level,
    precompress: argv.precompress === undefined ? undefined : (String(argv.precompress).split(',').map((e) => e.trim()).filter(Boolean) as PackOptions['precompress']),
    sources: argv.sources,
    strict: argv.strict,
    jobs: argv.jobs,
    cache: argv.cache,
    cacheDir: argv.cacheDir,
    package: argv.package === 'false' || argv.package === false ? false : argv.package,
    inlineMetadata: argv.inlineMetadata,
    omittedHints: argv.omittedHints,
  };
}

/** A one-line progress display for TTYs; nothing otherwise. */
function progress(io: CliIO, enabled: boolean): ((e: PackProgress) => void) | undefined {
  if (!enabled || !io.stderr.isTTY) return undefined;
  let last = 0;
  return (e) => {
    const now = Date.now();
    if (e.done !== e.total && now - last < 100) return;
    last = now;
    io.stderr.write(`\r${e.phase}: ${e.done}/${e.total} files${e.done === e.total ? '\n' : ''}`);
  };
}

/** The signals a run handles: a terminal's Ctrl-C, a closed terminal, `kill`, a CI's cancel. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * While a run lasts, SIGINT, SIGTERM and SIGHUP do not end the process at once
 * (which would leave temporary files and, in the rename phase, a mixed set of old and
 * new outputs): the build-interpreter workers are killed (they run in their own process
 * groups, so the terminal's Ctrl-C does not reach them) and the run is aborted. It then
 * stops before writing anything; outputs already being written are finished first, as
 * they are written synchronously. A second signal ends the process at once, which is
 * as safe, since a handler never runs in the middle of the write.
 */
function interruptible(): { signal: AbortSignal; caught: () => NodeJS.Signals | undefined; dispose: () => void } {
  const controller = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    killWorkers();
    if (caught) process.exit(128 + constants.signals[sig]);
    caught = sig;
    controller.abort(sig);
  };
  for (const sig of SIGNALS) process.on(sig, handler);
  return { signal: controller.signal, caught: () => caught, dispose: () => SIGNALS.forEach((sig) => process.off(sig, handler)) };
}

export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const interrupt = interruptible();
  try {
    const code = await mainWith(argv, io, interrupt.signal);
    // A signal that came during the synchronous write reaches its handler in the event
    // loop's poll phase: the first setImmediate may run before the next poll, the second
    // runs after it.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    const sig = interrupt.caught();
    if (!sig) return code;
    // Outputs complete and then the signal: they stay (a complete new set); the exit code still says it.
    if (code === 0) io.stderr.write(`interrupted by ${sig} after the outputs were written: they are complete, and were kept.\n`);
    return 128 + constants.signals[sig];
  } finally {
    interrupt.dispose();
  }
}

async function mainWith(argv: string[], io: CliIO, signal: AbortSignal): Promise<number> {
  // `pack` is also the default command. Named, yargs renders the whole help text before
  // running it (to show it on a later error): ~50 ms of a ~300 ms warm run. The same
  // command unnamed is spared that; asked for help, it is named as given.
  if (argv[0] === 'pack' && !argv.some((a) => a === '--help' || a === '-h')) argv = argv.slice(1);
  let code = 0;
  const run = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      io.stderr.write(formatError(error));
      code = 1;
    }
  };
  const parser = yargs(argv)
    .scriptName('pywasm-assets')
    .usage('$0 <command> [options]')
    .option('pyodide', { type: 'string', describe: 'Pyodide mode: an installed pyodide package (e.g. node_modules/pyodide); writes a drop-in precompiled python_stdlib.zip', group: 'Inputs:' })
    .option('builddir', { type: 'string', describe: 'CPython build root (pybuilddir.txt, Makefile, sysconfigdata)', group: 'Inputs:' })
    .option('srcdir', { type: 'string', describe: 'CPython source checkout (its Lib/ is packed)', group: 'Inputs:' })
    .option('lib', { type: 'string', describe: 'stdlib directory (a source Lib/ or an installed lib/python3.X)', group: 'Inputs:' })
    .option('sysconfigdata', { type: 'string', describe: "the target's _sysconfigdata_*.py", group: 'Inputs:' })
    .option('build-python', { type: 'string', describe: 'build interpreter [default: PYTHON_FOR_BUILD, else python3]', group: 'Inputs:' })
    .option('prefix', { type: 'string', describe: 'install prefix in the WASM file system [default: /usr/local]', group: 'Inputs:' })
    .option('target', { choices: ['emscripten-browser', 'emscripten-node', 'wasi', 'pyodide'], describe: 'runtime [default: from the sysconfigdata; pyodide with --pyodide]', group: 'Inputs:' })
    .option('add', { type: 'string', array: true, describe: 'extra module or package placed at the zip root (repeatable)', group: 'Inputs:' })
    .option('provides', { type: 'string', array: true, describe: 'module the runtime itself provides, for the import check (repeatable; e.g. Pyodide\'s js)', group: 'Inputs:' })
    .option('profile', { choices: ['wasm', 'cpython', 'pyodide'], describe: 'rule profile [default: wasm; pyodide with --pyodide]', group: 'Rules:' })
    .option('rules', { type: 'string', array: true, describe: 'extra rule file (repeatable)', group: 'Rules:' })
    .option('keep', { type: 'string', array: true, describe: 'glob to keep whatever the rules say (repeatable)', group: 'Rules:' })
    .option('omit', { type: 'string', array: true, describe: 'glob to omit (repeatable)', group: 'Rules:' })
    .option('strict', { type: 'boolean', describe: 'fail on any warning or import violation', group: 'Rules:' })
    .option('optimize', { choices: [0, 1, 2], type: 'number', describe: 'optimization level [default: 0]', group: 'Compile:' })
    .option('invalidation', { choices: ['unchecked-hash', 'checked-hash', 'timestamp'], describe: 'pyc invalidation mode [default: unchecked-hash]', group: 'Compile:' })
    .option('debug-ranges', { type: 'boolean', describe: 'column ranges in the pycs for traceback carets (--no-debug-ranges to drop) [default: only when sources ship, or profile cpython]', group: 'Compile:' })
    .option('allow-syntax-errors', { type: 'boolean', describe: 'ship files that fail to compile as .py', group: 'Compile:' })
    .option('sources', { choices: ['pyc', 'py', 'both'], describe: 'what the zip holds per module [default: pyc]', group: 'Compile:' })
    .option('jobs', { type: 'number', describe: 'build interpreter workers [default: one per core]', group: 'Compile:' })
    .option('cache', { type: 'boolean', describe: 'use the content-addressed cache (--no-cache to disable) [default: true]', group: 'Compile:' })
    .option('cache-dir', { type: 'string', describe: 'cache directory [default: node_modules/.cache/pywasm-assets of the nearest package.json, else ~/.cache/pywasm-assets]', group: 'Compile:' })
    .option('out', { type: 'string', describe: 'output directory [default: the build root, else ./dist]', group: 'Output:' })
    .option('compression', { choices: ['deflate', 'stored'], describe: 'zip method [default: deflate]', group: 'Output:' })
    .option('level', { type: 'number', describe: 'deflate level 0-9 [default: 9]', group: 'Output:' })
    .option('precompress', { type: 'string', describe: 'also write NAME.br / NAME.gz of the zip and the .data: br, gz or br,gz', group: 'Output:' })
    .option('package', { type: 'string', describe: 'file_packager package name, or "false" [default: python-stdlib for emscripten-browser]', group: 'Output:' })
    .option('inline-metadata', { type: 'boolean', describe: 'put the package metadata inside the loader', group: 'Output:' })
    .option('omitted-hints', { type: 'boolean', describe: 'ship a sitecustomize that explains imports of omitted modules', group: 'Output:' })
    .option('json', { type: 'boolean', describe: 'print the structured result as JSON', group: 'Output:' })
    .option('explain', { type: 'boolean', describe: 'list every omitted file with its rule and reason; writes no outputs', group: 'Output:' })
    .command(
      ['pack', '$0'],
      'pack the stdlib (zip, os.py marker, lib-dynload, file_packager package)',
      () => {},
      (args) =>
        run(async () => {
          const options = { ...toOptions(args), signal };
          if (args.explain) {
            const result = await explain(options);
            if (args.json) io.stdout.write(JSON.stringify(result, null, 2) + '\n');
            else {
              io.stdout.write(formatExplain(result.decisions, { warnings: result.warnings }));
              for (const w of result.warnings) if (w.code !== 'IMPORT_UNAVAILABLE') io.stderr.write(formatWarning(w) + '\n');
            }
            return;
          }
          options.onProgress = progress(io, !args.json);
          const result = await pack(options);
          io.stdout.write(args.json ? JSON.stringify(result, null, 2) + '\n' : formatSummary(result));
        }),
    )
    .command(
      'explain <query>',
      'say whether one module or path is kept or omitted, and why',
      (y) => y.positional('query', { type: 'string', describe: 'dotted module (json.decoder) or path (json/decoder.py, test/)' }),
      (args) =>
        run(async () => {
          const result = await explain({ ...toOptions(args), signal });
          const q = String(args.query);
          const asPath = q.replace(/^\/+/, '');
          const matches = result.decisions.filter(
            (d) => d.path === asPath || (asPath.endsWith('/') && d.path.startsWith(asPath)) || (d.path.endsWith('.py') && moduleName(d.path) === q),
          );
          if (args.json) io.stdout.write(JSON.stringify({ query: q, decisions: matches }, null, 2) + '\n');
          else io.stdout.write(formatExplainOne(q, matches, result.warnings));
          if (!matches.length) code = 1;
        }),
    )
    .check((args) => {
      for (const [flag, value] of Object.entries(args)) {
        if (Array.isArray(value) && !REPEATABLE.has(flag) && flag !== '_') throw new UsageError(`--${flag} was given more than once`);
      }
      for (const flag of ['jobs', 'level', 'optimize']) {
        if (args[flag] !== undefined && !Number.isInteger(args[flag])) throw new UsageError(`--${flag} takes an integer, got ${clip(String(args[flag]))}`);
      }
      return true;
    })
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err && !(err instanceof PackError)) throw err;
      throw new UsageError(msg ?? err?.message ?? 'invalid arguments');
    })
    .exitProcess(false);
  try {
    // The callback receives --help output instead of yargs printing it and exiting.
    await parser.parseAsync(argv, {}, (_error, _args, output) => {
      if (output) io.stdout.write(output + '\n');
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // yargs echoes the arguments it refuses (`Unknown argument: <it>`): a long one is cut.
    io.stderr.write(`error: ${error.message.replace(/\S{201,}/g, (word) => clip(word))}\nRun pywasm-assets --help for usage.\n`);
    return 2;
  }
  return code;
}
