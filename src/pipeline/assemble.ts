/**
 * Stage: assemble. The shipped units become the outputs: the zip (entries in unit
 * order, fixed times), os.py and lib-dynload/.empty under the prefix, and, for a
 * browser target, the file_packager package of those three. Nothing is written
 * here (output/write.ts writes all or nothing); first, a bundle that its
 * interpreter could not start with is refused.
 */
import path from 'node:path';
import { clip, PackError } from '../errors.js';
import { createPackage } from '../output/packager/index.js';
import { isInside, type OutputFile } from '../output/write.js';
import { readInputFile } from '../read-file.js';
import { buildZip, type ArchiveEntry } from '../output/zip.js';
import type { Decision, KeptModule, OmittedFile, PackOutput } from '../types.js';
import type { ImportGraphReport } from './check-imports.js';
import type { Context, Unit } from './context.js';
import { moduleName } from './discover.js';
import type { ResolvedOptions } from './options/index.js';

export type PlannedFile = OutputFile & Pick<PackOutput, 'kind' | 'of' | 'encoding'>;

/** The file name Pyodide fetches its stdlib from (`indexURL + 'python_stdlib.zip'`, or `stdLibURL`). */
export const PYODIDE_STDLIB_ZIP = 'python_stdlib.zip';

/**
 * Modules every CPython for WebAssembly imports from the stdlib zip while it starts,
 * before any user code: `init_fs_encoding` (Python/pylifecycle.c) looks up the UTF-8
 * codec, which imports the `encodings` package (it imports `encodings.aliases`) and
 * `encodings.utf_8`. Everything else it needs is built in or frozen (3.11-3.14;
 * measured in the WASI build with `-S` and without).
 */
const STARTUP_MODULES = ['encodings', 'encodings.aliases', 'encodings.utf_8'];

/**
 * A bundle that omits a start-up module its stdlib has cannot start at all: refuse it
 * (ERR_UNLOADABLE). (A tree without them is no CPython stdlib; tests use such trees.)
 */
export function checkStartupModules(units: Unit[], decisions: Decision[]): void {
  const shipped = new Set(units.map((u) => u.module));
  const dropped = STARTUP_MODULES.map((m) => ({ m, d: decisions.find((x) => x.action === 'omit' && x.path.endsWith('.py') && moduleName(x.path) === m) }));
  const missing = dropped.filter(({ m, d }) => d && !shipped.has(m));
  if (!missing.length) return;
  const why = missing.map(({ m, d }) => `${m} (omitted by ${d!.rule?.id}: ${d!.rule?.pattern})`);
  throw new PackError(
    'ERR_UNLOADABLE',
    `The bundle would lack ${why.join(', ')}, which the interpreter imports while it starts (to decode file names): it would die at start-up.`,
    'Keep them: drop the --omit or rule that names them, or pass --keep encodings/aliases.py --keep encodings/utf_8.py --keep encodings/__init__.py.',
  );
}

function zipEntries(ctx: Context, units: Unit[]): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  for (const u of units) {
    if (u.failed) {
      entries.push({ name: `${u.stem}.py`, entry: u.py! });
      continue;
    }
    if (ctx.options.sources !== 'pyc') entries.push({ name: `${u.stem}.py`, entry: u.py! });
    if (ctx.options.sources !== 'py') entries.push({ name: `${u.stem}.pyc`, entry: u.pyc! });
  }
  return entries;
}

/** The result's account of the omitted files. */
export function omittedFiles(decisions: Decision[]): OmittedFile[] {
  return decisions
    .filter((d) => d.action === 'omit')
    .map((d) => ({ path: d.path, rule: d.rule?.id ?? 'unknown', reason: d.rule?.reason ?? '', evidence: d.rule?.evidence, chain: d.chain }));
}

/** The output files for the shipped units (written later, all or nothing). */
export async function assembleOutputs(ctx: Context, units: Unit[]): Promise<PlannedFile[]> {
  const { options } = ctx;
  const zipBytes = await buildZip(zipEntries(ctx, units), options.sourceDateEpoch);
  // A drop-in for the distribution's own zip: Pyodide writes it to /lib/python3XY.zip and
  // makes its own lib/python3.X/ directories.
  if (options.target === 'pyodide') return [{ path: path.join(options.out, PYODIDE_STDLIB_ZIP), data: zipBytes, kind: 'zip' }];
  const prefixDir = path.join(options.out, options.prefix.replace(/^\/+/, ''));
  const stdlibDir = path.join(prefixDir, 'lib', `python${options.version}`);
  const files: PlannedFile[] = [
    { path: path.join(prefixDir, 'lib', `python${options.versionNodot}.zip`), data: zipBytes, kind: 'zip' },
    { path: path.join(stdlibDir, 'os.py'), data: readOsPy(options), kind: 'os.py' },
    { path: path.join(stdlibDir, 'lib-dynload', '.empty'), data: new Uint8Array(), kind: 'lib-dynload' },
  ];
  if (options.package !== false) {
    const vfs = (p: string) => '/' + path.relative(options.out, p).split(path.sep).join('/');
    const pkg = createPackage(files.map((f) => ({ path: vfs(f.path), data: f.data as Uint8Array })), { name: options.package, inlineMetadata: options.inlineMetadata });
    files.push({ path: path.join(options.out, pkg.dataFileName), data: pkg.data, kind: 'package-data' });
    files.push({ path: path.join(options.out, pkg.loaderFileName), data: pkg.loader, kind: 'package-loader' });
    if (pkg.metadataFileName) files.push({ path: path.join(options.out, pkg.metadataFileName), data: pkg.metadata, kind: 'package-metadata' });
  }
  checkInsideOut(options, files);
  return files;
}

/**
 * Every output goes below --out. The options already refuse a prefix with `..`
 * (options/values.ts); this is the last check before anything is written, so
 * that no future way to a path (a prefix, a version, a package name) can write
 * elsewhere.
 */
export function checkInsideOut(options: Pick<ResolvedOptions, 'out' | 'prefix'>, files: PlannedFile[]): void {
  const outside = files.filter((f) => !isInside(path.resolve(f.path), path.resolve(options.out)) || path.resolve(f.path) === path.resolve(options.out));
  if (!outside.length) return;
  throw new PackError(
    'ERR_WRITE',
    `Refusing to write ${outside.map((f) => f.path).join(', ')}: outside the output directory ${options.out} (prefix ${clip(JSON.stringify(options.prefix))}).`,
    'Pass an absolute --prefix without ".." segments (e.g. /usr/local), or fix prefix= in the Makefile.',
  );
}

/** The stdlib's os.py, copied beside the zip (CPython finds its stdlib by it); only a regular file is read. */
function readOsPy(options: ResolvedOptions): Uint8Array {
  return readInputFile(options.fs, path.join(options.lib, 'os.py'), 'Replace it with the regular os.py of the stdlib.');
}

/** The result's account of the shipped modules. */
export function keptModules(options: ResolvedOptions, units: Unit[], graph: ImportGraphReport): KeptModule[] {
  return units.map((u) => ({
    path: u.origin === 'sysconfigdata' ? `${u.stem}.py` : u.path,
    module: u.module,
    entry: u.failed || options.sources === 'py' ? `${u.stem}.py` : `${u.stem}.pyc`,
    size: (u.failed || options.sources === 'py' ? u.py!.size : u.pyc!.size) + (options.sources === 'both' && !u.failed ? u.py!.size : 0),
    ...(u.failed ? { source: true } : {}),
    origin: u.origin,
    ...(graph.verdicts.has(u.module) ? { importCheck: graph.verdicts.get(u.module) } : {}),
  }));
}
