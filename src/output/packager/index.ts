/**
 * Emscripten file_packager packages, written without Python or emsdk.
 *
 * A package is three artefacts: `NAME.data` (the files' bytes, concatenated),
 * `NAME.js.metadata` (where each file starts and ends in `NAME.data`) and the
 * loader `NAME.js` (ours, see ./packager/loader.ts) that fetches the data and
 * writes the files into the runtime's virtual file system before `main` runs.
 *
 * The metadata is byte-identical to what upstream `tools/file_packager.py`
 * (emscripten-core/emscripten, 3.1.19 and later) writes with
 * `--preload <dir>@<dir> --separate-metadata`:
 * - `main()`: `data_files = sorted(data_files, key=lambda f: f.dstpath)`, then
 *   later duplicates of a destination are dropped (Python's sort is stable and
 *   compares code points);
 * - `generate_js()`: `.data` is the files in that order, nothing else; each entry
 *   is `{'filename', 'start', 'end'}` (end exclusive), then
 *   `metadata['remote_package_size'] = os.path.getsize(data)`; `package_uuid`
 *   only with `--use-preload-cache`;
 * - `main()`: `json.dumps(metadata, separators=(',', ':'))`, so `ensure_ascii`
 *   escaping and no trailing newline.
 * Releases 3.1.19 to 4.0.12 also wrote `"audio":1` for `.ogg`/`.wav`/`.mp3`
 * files; current upstream does not, and neither do we.
 */
import { PackError } from '../../errors.js';
import { renderLoader } from './loader.js';
import { compareCodePoints } from '../../pipeline/discover.js';

export { compareCodePoints };

export interface PackageFile {
  /** Absolute, normalized path in the virtual file system, e.g. `/usr/local/lib/python311.zip`. */
  path: string;
  data: Uint8Array;
}

export interface PackageOptions {
  /** Base name of the artefacts: `NAME.data`, `NAME.js`, `NAME.js.metadata`. */
  name: string;
  /**
   * Put the metadata inside the loader (file_packager without `--separate-metadata`).
   * @default false
   */
  inlineMetadata?: boolean;
}

export interface PackageEntry {
  /** Path in the virtual file system. */
  filename: string;
  /** Offset of the first byte in `NAME.data`. */
  start: number;
  /** Offset after the last byte (exclusive); equals `start` for an empty file. */
  end: number;
}

export interface EmscriptenPackage {
  /** Contents of `NAME.data`. */
  data: Uint8Array;
  /** Exact text of `NAME.js.metadata` (ASCII; also inlined in the loader with `inlineMetadata`). */
  metadata: string;
  /** Contents of `NAME.js`. */
  loader: string;
  /** The metadata's entries, in `.data` order. */
  files: PackageEntry[];
  dataFileName: string;
  loaderFileName: string;
  /** Absent with `inlineMetadata`: nothing to write. */
  metadataFileName?: string;
}

/**
 * Builds a file_packager package from files given with their VFS paths. Pure:
 * reads and writes nothing; the caller writes the three artefacts side by side.
 *
 * @example
 * const pkg = createPackage([{ path: '/usr/local/lib/python311.zip', data: zip }], { name: 'python' });
 * writeFileSync('dist/python.data', pkg.data);
 * writeFileSync('dist/python.js', pkg.loader);
 * writeFileSync('dist/python.js.metadata', pkg.metadata);
 */
export function createPackage(files: PackageFile[], options: PackageOptions): EmscriptenPackage {
  const name = checkName(options?.name);
  if (!Array.isArray(files) || files.length === 0) {
    throw new PackError('ERR_PACKAGE', 'The package has no files.', 'pass at least one { path, data }');
  }
  files.forEach(checkFile);

  // Stable sort by code point, then first occurrence wins (upstream's was_seen()).
  const sorted = files.slice().sort((a, b) => compareCodePoints(a.path, b.path));
  const unique = sorted.filter((file, i) => i === 0 || sorted[i - 1].path !== file.path);

  checkFileDirClash(unique);

  let size = 0;
  for (const file of unique) size += file.data.byteLength;
  const data = new Uint8Array(size);
  const entries: PackageEntry[] = [];
  let offset = 0;
  for (const file of unique) {
    data.set(file.data, offset);
    entries.push({ filename: file.path, start: offset, end: offset + file.data.byteLength });
    offset += file.data.byteLength;
  }

  const metadata = formatMetadata(entries, size);
  const dataFileName = `${name}.data`;
  const loaderFileName = `${name}.js`;
  const metadataFileName = options.inlineMetadata ? undefined : `${loaderFileName}.metadata`;
  const loader = renderLoader({
    dataFileName,
    metadataFileName,
    inlineMetadata: options.inlineMetadata ? metadata : undefined,
  });
  return { data, metadata, loader, files: entries, dataFileName, loaderFileName, metadataFileName };
}

/** `json.dumps(metadata, separators=(',', ':'))` for the metadata dict, keys in upstream's insertion order. */
export function formatMetadata(entries: PackageEntry[], remotePackageSize: number): string {
  const files = entries.map(
    (e) => `{"filename":${pythonJsonString(e.filename)},"start":${e.start},"end":${e.end}}`,
  );
  return `{"files":[${files.join(',')}],"remote_package_size":${remotePackageSize}}`;
}

/**
 * A string as Python's `json.dumps` writes it with `ensure_ascii=True` (CPython
 * `Lib/json/encoder.py` `py_encode_basestring_ascii`): `"` `\` and the five
 * short escapes, everything outside printable ASCII (` `..`~`, so DEL too) as
 * `\uxxxx` in lower-case hex, astral characters as their UTF-16 surrogate pair.
 */
export function pythonJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const short = SHORT_ESCAPES[unit];
    if (short !== undefined) out += short;
    else if (unit >= 0x20 && unit <= 0x7e) out += text[i];
    else out += '\\u' + unit.toString(16).padStart(4, '0');
  }
  return out + '"';
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x08: '\\b',
  0x0c: '\\f',
};


function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || /[/\\\0]/.test(name) || name === '.' || name === '..') {
    throw new PackError(
      'ERR_PACKAGE',
      `Invalid package name ${JSON.stringify(name)}: it must be a plain file name without slashes.`,
      'pass e.g. --package python (writes python.data, python.js, python.js.metadata)',
    );
  }
  return name;
}

/** A path cannot be a file and, for another file, a directory: the loader's FS_createPath would fail at run time. */
function checkFileDirClash(files: PackageFile[]): void {
  const paths = new Set(files.map((f) => f.path));
  for (const file of files) {
    for (let i = file.path.lastIndexOf('/'); i > 0; i = file.path.lastIndexOf('/', i - 1)) {
      const dir = file.path.slice(0, i);
      if (paths.has(dir)) {
        throw new PackError('ERR_PACKAGE', `Package path ${dir} is a file, but ${file.path} needs it to be a directory.`);
      }
    }
  }
}

function checkFile(file: PackageFile, index: number): void {
  const path = file?.path;
  const normal =
    typeof path === 'string' &&
    path.startsWith('/') &&
    path.length > 1 &&
    !path.endsWith('/') &&
    !path.includes('\0') &&
    path
      .slice(1)
      .split('/')
      .every((part) => part !== '' && part !== '.' && part !== '..');
  if (!normal) {
    throw new PackError(
      'ERR_PACKAGE',
      `Package file ${index} has path ${JSON.stringify(path)}; it must be an absolute, normalized VFS path of a file.`,
      'use e.g. /usr/local/lib/python311.zip (no //, ., .. or trailing /)',
    );
  }
  if (!(file.data instanceof Uint8Array)) {
    throw new PackError('ERR_PACKAGE', `Package file ${path} has no Uint8Array data.`);
  }
}
