/**
 * What the target is and what it can load: the runtime (`--target`, else the build's
 * own), the zip method it can read, the package it can use.
 */
import { PackError } from '../../errors.js';
import type { PackCompression, PackTarget } from '../../types.js';
import { defaultTarget, type BuildFacts } from '../build-facts/index.js';
import { oneOf } from './values.js';

const TARGETS: PackTarget[] = ['emscripten-browser', 'emscripten-node', 'wasi'];
const PLATFORM_TARGETS: Record<string, PackTarget[]> = { emscripten: ['emscripten-browser', 'emscripten-node'], wasi: ['wasi'] };

/**
 * The target (the flag, else what the build facts say); `facts.platform` follows it, and
 * the built-in Emscripten description writes no sysconfigdata for WASI.
 */
export function chooseTarget(flag: PackTarget | undefined, facts: BuildFacts, embedded: boolean): PackTarget {
  const target = oneOf(flag, TARGETS, 'target', defaultTarget(facts).target);
  if (embedded && target === 'wasi') {
    // The built-in description is of an Emscripten build: no sysconfigdata of it for WASI.
    facts.sysconfigdataName = facts.sysconfigdataPath = facts.sysconfigdataSource = undefined;
  }
  if (facts.sysconfigdataName && !PLATFORM_TARGETS[facts.platform].includes(target)) {
    throw new PackError('ERR_OPTION', `--target ${target} does not match the sysconfigdata ${facts.sysconfigdataName}, which is for ${facts.platform}.`, `Use --target ${defaultTarget(facts).target}.`);
  }
  if (target === 'wasi') facts.platform = 'wasi';
  return target;
}

/**
 * The zip method the target can read. zipimport inflates deflated entries with
 * zlib, so a target without it (a stock WASI build: the WASI SDK ships no zlib)
 * could not even start: its interpreter reads `encodings` from the zip during
 * start-up ("ZipImportError: can't decompress data; zlib not available"). Such a
 * target gets a stored zip by default, and an explicit deflate is refused.
 */
export function chooseCompression(flag: PackCompression | 'auto', facts: BuildFacts): { compression: PackCompression; compressionReason?: string } {
  const zlib = facts.modules.get('zlib');
  if (zlib?.available) return { compression: flag === 'auto' ? 'deflate' : flag };
  const evidence = zlib?.evidence ?? `zlib: named by no build fact in ${facts.source || 'the build facts'}, so unavailable`;
  if (flag === 'deflate') {
    throw new PackError(
      'ERR_UNLOADABLE',
      `--compression deflate: the target has no zlib (${evidence}), so its zipimport could not inflate the zip and the interpreter would die at start-up ("can't decompress data; zlib not available").`,
      'Drop --compression (a target without zlib gets a stored zip), or build the target with zlib.',
    );
  }
  return { compression: 'stored', compressionReason: flag === 'auto' ? `stored, because the target has no zlib (${evidence}): its zipimport reads only stored entries without it` : undefined };
}

/** The file_packager package: a browser target gets one by default; WASI cannot use one. */
export function choosePackage(flag: string | false | undefined, target: PackTarget): string | false {
  if (target === 'wasi' && typeof flag === 'string') {
    throw new PackError('ERR_OPTION', `--package ${flag}: a file_packager package is for Emscripten programs; a WASI runtime reads the files from the directory it maps (--target wasi).`, 'Drop --package, and map the output directory into the runtime (e.g. node:wasi preopens { "/": <out> }).');
  }
  const pkg = flag === undefined ? (target === 'emscripten-browser' ? 'python-stdlib' : false) : flag;
  if (pkg !== false && !/^[A-Za-z0-9._-]+$/.test(pkg)) throw new PackError('ERR_OPTION', `--package must be a plain file name; got ${JSON.stringify(pkg)}.`);
  return pkg;
}
