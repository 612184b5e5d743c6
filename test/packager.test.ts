import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PackError } from '../src/errors.js';
import {
  compareCodePoints,
  createPackage,
  pythonJsonString,
  type EmscriptenPackage,
  type PackageFile,
} from '../src/output/packager/index.js';

const enc = new TextEncoder();
const file = (path: string, text: string): PackageFile => ({ path, data: enc.encode(text) });

const TREE: PackageFile[] = [
  file('/usr/local/lib/python311.zip', 'PK\x05\x06zip'),
  file('/usr/local/lib/python3.11/os.py', 'import abc\n'),
  file('/usr/local/lib/python3.11/lib-dynload/.empty', ''),
];

/** What the machine's python3 prints for `json.dumps(value, separators=(',', ':'))`, or undefined without python3. */
function pythonDumps(value: unknown): string | undefined {
  const script = 'import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read()), separators=(",", ":")))';
  const run = spawnSync('python3', ['-I', '-S', '-c', script], { input: JSON.stringify(value), encoding: 'utf8' });
  if (run.error || run.status !== 0) return undefined;
  return run.stdout;
}

// ---
const metadata = suite('createPackage: metadata');

metadata('is the compact JSON upstream writes: files sorted by path, end exclusive, size last, no newline', () => {
  const pkg = createPackage(TREE, { name: 'python' });
  assert.is(
    pkg.metadata,
    '{"files":[' +
      '{"filename":"/usr/local/lib/python3.11/lib-dynload/.empty","start":0,"end":0},' +
      '{"filename":"/usr/local/lib/python3.11/os.py","start":0,"end":11},' +
      '{"filename":"/usr/local/lib/python311.zip","start":11,"end":18}' +
      '],"remote_package_size":18}',
  );
  assert.not.match(pkg.metadata, 'package_uuid');
});

metadata('escapes like Python json.dumps with ensure_ascii (checked against python3)', () => {
  const names = [
    '/a/h\u00e9llo',
    '/a/\u20ac',
    '/a/\u{1f600}',
    '/a/q"uote',
    '/a/back\\slash',
    '/a/tab\tnl\ncr\rbs\bff\f',
    '/a/ctl\u0001\u001f',
    '/a/del\u007f',
    '/a/sep\u2028\u2029',
    '/a/slash/ok~',
  ];
  const pkg = createPackage(names.map((n) => file(n, 'x')), { name: 'p' });
  assert.is(pythonJsonString('/a/\u{1f600}'), '"/a/\\ud83d\\ude00"');
  assert.is(pythonJsonString('/a/del\u007f'), '"/a/del\\u007f"');
  assert.is(pythonJsonString('/a/q"\\'), '"/a/q\\"\\\\"');
  assert.ok(/^[\x20-\x7e]*$/.test(pkg.metadata), 'metadata is printable ASCII');
  const python = pythonDumps(JSON.parse(pkg.metadata));
  if (python === undefined) console.log('  (python3 not found: skipped the python3 cross-check)');
  else assert.is(pkg.metadata, python);
});

metadata('sorts by code point like Python, not by UTF-16 unit like Array.sort', () => {
  // U+FF5E < U+1F600 as code points; as UTF-16 the emoji's lead surrogate 0xD83D sorts first.
  const pkg = createPackage([file('/d/\u{1f600}', 'a'), file('/d/\uff5e', 'b'), file('/d/z', 'c')], { name: 'p' });
  assert.equal(pkg.files.map((f) => f.filename), ['/d/z', '/d/\uff5e', '/d/\u{1f600}']);
  assert.ok(compareCodePoints('\uff5e', '\u{1f600}') < 0);
  assert.ok(compareCodePoints('ab', 'a') > 0);
  assert.is(compareCodePoints('same', 'same'), 0);
});

metadata('drops later duplicates of a path (the first one given wins)', () => {
  const pkg = createPackage([file('/x/b', 'first'), file('/x/a', 'A'), file('/x/b', 'second')], { name: 'p' });
  assert.equal(pkg.files, [
    { filename: '/x/a', start: 0, end: 1 },
    { filename: '/x/b', start: 1, end: 6 },
  ]);
  assert.is(new TextDecoder().decode(pkg.data), 'Afirst');
});

// ---
const data = suite('createPackage: data and names');

data('concatenates the bytes in metadata order, nothing else', () => {
  const pkg = createPackage(TREE, { name: 'python' });
  assert.is(new TextDecoder().decode(pkg.data), 'import abc\nPK\x05\x06zip');
  for (const entry of pkg.files) {
    const source = TREE.find((f) => f.path === entry.filename)!;
    assert.equal(pkg.data.subarray(entry.start, entry.end), source.data);
  }
});

data('names the artefacts NAME.data, NAME.js and NAME.js.metadata', () => {
  const pkg = createPackage(TREE, { name: 'python' });
  assert.equal(
    [pkg.dataFileName, pkg.loaderFileName, pkg.metadataFileName],
    ['python.data', 'python.js', 'python.js.metadata'],
  );
  assert.match(pkg.loader, 'var METADATA_NAME = "python.js.metadata";');
  assert.match(pkg.loader, 'var DATA_NAME = "python.data";');
});

data('inlineMetadata puts the metadata in the loader and writes no metadata file', () => {
  const pkg = createPackage(TREE, { name: 'python', inlineMetadata: true });
  assert.is(pkg.metadataFileName, undefined);
  assert.match(pkg.loader, `var INLINE_METADATA = ${pkg.metadata};`);
  assert.match(pkg.loader, 'var METADATA_NAME = null;');
});

data('is deterministic: same tree (in any order) gives identical bytes', () => {
  const a = createPackage(TREE, { name: 'python' });
  const b = createPackage(TREE.slice().reverse(), { name: 'python' });
  assert.equal(a, b);
  // With separate metadata the loader depends on the name only.
  assert.is(createPackage([file('/other', 'x')], { name: 'python' }).loader, a.loader);
});

data('rejects bad input with ERR_PACKAGE', () => {
  const cases: [PackageFile[], string, string][] = [
    [[], 'python', 'no files'],
    [[file('relative/path', 'x')], 'python', '"relative/path"'],
    [[file('/a/../b', 'x')], 'python', '"/a/../b"'],
    [[file('/a//b', 'x')], 'python', '"/a//b"'],
    [[file('/a/', 'x')], 'python', '"/a/"'],
    [[{ path: '/a', data: 'text' as unknown as Uint8Array }], 'python', 'Uint8Array'],
    [[file('/a/b', 'x'), file('/a/b/c', 'y')], 'python', '/a/b is a file, but /a/b/c needs it to be a directory'],
    [TREE, 'dir/python', '"dir/python"'],
    [TREE, '', '""'],
  ];
  for (const [files, name, fragment] of cases) {
    try {
      createPackage(files, { name });
      assert.unreachable(`accepted ${fragment}`);
    } catch (error) {
      assert.instance(error, PackError);
      assert.is((error as PackError).code, 'ERR_PACKAGE');
      assert.match((error as PackError).message, fragment);
    }
  }
});

// ---
const loader = suite('createPackage: loader against a recording Module');

interface Recorded {
  calls: string[];
  files: Map<string, Uint8Array>;
  aborts: string[];
  Module: Record<string, any>;
}

/**
 * Evaluates the loader with a stand-in Module that records the runtime calls.
 * The real runtime is exercised in emscripten.test.ts; this checks the call
 * sequence and the failure messages in milliseconds.
 */
function evaluate(pkg: EmscriptenPackage, init: Record<string, any> = {}): Recorded {
  const rec: Recorded = { calls: [], files: new Map(), aborts: [], Module: {} };
  rec.Module = {
    FS_createPath: (parent: string, name: string, r: boolean, w: boolean) =>
      rec.calls.push(`createPath ${parent} ${name} ${r} ${w}`),
    FS_createDataFile: (path: string, name: null, bytes: Uint8Array, r: boolean, w: boolean, own: boolean) => {
      rec.calls.push(`createDataFile ${path} ${name} ${bytes.length} ${r} ${w} ${own}`);
      rec.files.set(path, bytes.slice());
    },
    addRunDependency: (id: string) => rec.calls.push(`add ${id}`),
    removeRunDependency: (id: string) => rec.calls.push(`remove ${id}`),
    onAbort: (what: string) => rec.aborts.push(what),
    ...init,
  };
  new Function('Module', pkg.loader)(rec.Module);
  return rec;
}

loader('compiles as a script and creates each directory once, then every file', () => {
  const pkg = createPackage(TREE, { name: 'python', inlineMetadata: true });
  const rec = evaluate(pkg, { calledRun: true, getPreloadedPackage: () => pkg.data.slice().buffer });
  assert.equal(rec.calls, [
    'createPath / usr true true',
    'createPath /usr local true true',
    'createPath /usr/local lib true true',
    'createPath /usr/local/lib python3.11 true true',
    'createPath /usr/local/lib/python3.11 lib-dynload true true',
    'createDataFile /usr/local/lib/python3.11/lib-dynload/.empty null 0 true true true',
    'createDataFile /usr/local/lib/python3.11/os.py null 11 true true true',
    'createDataFile /usr/local/lib/python311.zip null 7 true true true',
  ]);
  for (const f of TREE) assert.equal(rec.files.get(f.path), f.data);
  assert.is(rec.Module.expectedDataFileDownloads, 1);
  assert.equal(rec.Module.preloadResults, { 'python.data': { fromCache: false } });
});

loader('before the runtime starts, waits in preRun and holds a run dependency until the data is in', () => {
  const pkg = createPackage(TREE, { name: 'python', inlineMetadata: true });
  const rec = evaluate(pkg, { preRun: [() => {}], getPreloadedPackage: () => pkg.data.slice().buffer });
  assert.is(rec.Module.preRun.length, 2, 'appended to an existing preRun list');
  assert.equal(rec.calls, [], 'nothing touches the FS before preRun');
  rec.Module.preRun[1](rec.Module);
  // The data was handed over synchronously, so no dependency is needed.
  assert.is(rec.calls.filter((c) => c.startsWith('createDataFile')).length, 3);
  assert.not.ok(rec.calls.some((c) => c.startsWith('add ')));
});

loader('fails loudly with onAbort and an Error naming the file and both sizes when the data is short', () => {
  const pkg = createPackage(TREE, { name: 'python', inlineMetadata: true });
  try {
    evaluate(pkg, { calledRun: true, getPreloadedPackage: () => pkg.data.slice(0, 5).buffer });
    assert.unreachable('accepted truncated data');
  } catch (error) {
    assert.match((error as Error).message, 'python.data');
    assert.match((error as Error).message, 'is 5 bytes but');
    assert.match((error as Error).message, 'expects 18 (remote_package_size)');
    assert.match((error as Error).message, 'truncated');
  }
});

loader('fails on metadata whose offsets do not tile the data (an offset off by one)', () => {
  const pkg = createPackage(TREE, { name: 'python', inlineMetadata: true });
  const bad = { ...pkg, loader: pkg.loader.replace('"start":11,"end":18', '"start":12,"end":18') };
  assert.is.not(bad.loader, pkg.loader);
  const aborts: string[] = [];
  try {
    evaluate(bad, { calledRun: true, onAbort: (w: string) => aborts.push(w) });
    assert.unreachable('accepted shifted offsets');
  } catch (error) {
    assert.match((error as Error).message, '/usr/local/lib/python311.zip starts at byte 12 but the previous file ends at byte 11');
    assert.equal(aborts, [(error as Error).message]);
  }
});

loader('uses Module.locateFile for the data and passes the located name to getPreloadedPackage', () => {
  const pkg = createPackage(TREE, { name: 'python', inlineMetadata: true });
  const asked: string[] = [];
  evaluate(pkg, {
    calledRun: true,
    locateFile: (name: string, prefix: string) => `https://cdn.example/${prefix}${name}`,
    getPreloadedPackage: (name: string, size: number) => {
      asked.push(`${name} ${size}`);
      return pkg.data.slice().buffer;
    },
  });
  assert.equal(asked, ['https://cdn.example/python.data 18']);
});

metadata.run();
data.run();
loader.run();
