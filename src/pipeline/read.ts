/**
 * Stage: read. The units to compile, in zip order: the target's sysconfigdata first
 * (as the reference writes it), the kept stdlib modules in tree order, then the
 * `--add` modules. All unreadable files are reported together.
 */
import path from 'node:path';
import { PackError } from '../errors.js';
import { InputFileError, readFailure, readRegularFile } from '../read-file.js';
import type { Decision } from '../types.js';
import type { Context, Unit } from './context.js';
import { compareTreeOrder, moduleName, type DiscoverResult } from './discover.js';

interface ReadProblem {
  line: string;
  error: unknown;
}

/** A source: only a regular file of at most MAX_INPUT_BYTES (a FIFO would hang the read, /dev/zero fill memory). */
function readSource(ctx: Context, file: string, shown: string, problems: ReadProblem[]): Uint8Array {
  try {
    return readRegularFile(ctx.options.fs, file);
  } catch (error) {
    problems.push({ line: `${shown} (${readFailure(error)})`, error });
    return new Uint8Array();
  }
}

/** Units to compile: the sysconfigdata, kept stdlib modules (tree order), --add modules. */
export function readUnits(ctx: Context, tree: DiscoverResult, decisions: Decision[]): Unit[] {
  const { options } = ctx;
  const problems: ReadProblem[] = [];
  const units: Unit[] = [];
  const facts = options.facts;
  if (facts.sysconfigdataName && facts.sysconfigdataSource) {
    units.push({ path: facts.sysconfigdataPath!, stem: facts.sysconfigdataName, module: facts.sysconfigdataName, source: facts.sysconfigdataSource, origin: 'sysconfigdata' });
  } else {
    ctx.warnings.push({ code: 'NO_SYSCONFIGDATA', message: 'No target sysconfigdata (no --builddir or --sysconfigdata), so the zip has none; sysconfig.get_config_vars() will be nearly empty in the runtime.' });
  }
  const kept = decisions.filter((d) => d.action === 'keep').map((d) => d.path).sort(compareTreeOrder);
  for (const file of kept) {
    units.push({ path: file, stem: file.replace(/\.py$/, ''), module: moduleName(file), source: readSource(ctx, path.join(tree.root, file), path.join(tree.root, file), problems), origin: 'stdlib' });
  }
  for (const added of options.add) {
    const fs = options.fs;
    if (added.endsWith('.py') && fs.statSync(added).isFile()) {
      const name = path.basename(added);
      units.push({ path: added, stem: name.replace(/\.py$/, ''), module: name.replace(/\.py$/, ''), source: readSource(ctx, added, added, problems), origin: 'add' });
      continue;
    }
    // A package directory: every .py inside it and its sub-packages, like the stdlib's.
    const base = path.basename(added);
    const walk = (dir: string, rel: string) => {
      const entries = fs.readdirSync(dir, { withFileTypes: true }).map((e) => ({ name: String(e.name), dir: e.isDirectory() }));
      entries.sort((a, b) => compareTreeOrder(a.name, b.name));
      for (const e of entries) {
        if (e.name === '__pycache__') continue;
        const full = path.join(dir, e.name);
        const r = `${rel}/${e.name}`;
        if (e.dir) {
          if (fs.existsSync(path.join(full, '__init__.py'))) walk(full, r);
        } else if (e.name.endsWith('.py')) {
          units.push({ path: full, stem: r.replace(/\.py$/, ''), module: moduleName(r), source: readSource(ctx, full, full, problems), origin: 'add' });
        }
      }
    };
    walk(added, base);
  }
  if (problems.length) {
    const lines = problems.map((p) => p.line);
    const odd = problems.some((p) => p.error instanceof InputFileError);
    const hint = odd ? 'Replace them with regular files of a sane size (or fix their permissions), or omit them with --omit.' : 'Fix the file permissions, or omit the files with --omit.';
    throw new PackError('ERR_FILE_UNREADABLE', `Cannot read ${lines.length === 1 ? lines[0] : `${lines.length} source files:\n  ${lines.join('\n  ')}`}.`, hint, {
      details: lines,
      cause: problems.length === 1 ? problems[0].error : new AggregateError(problems.map((p) => p.error)),
    });
  }
  const addedStems = new Map<string, string>();
  for (const u of units) {
    if (u.origin !== 'add') continue;
    const clash = units.find((o) => o !== u && o.stem === u.stem);
    if (clash || addedStems.has(u.stem)) {
      throw new PackError('ERR_ADD', `--add ${u.path} would be ${u.stem}.py in the zip, which ${clash ? `is also ${clash.path}` : `is also ${addedStems.get(u.stem)}`}.`, 'Rename the module, or omit the stdlib one with --omit.');
    }
    addedStems.set(u.stem, u.path);
  }
  return units;
}
