import nodeFs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  defaultTarget,
  expandMakeVars,
  parseMakefile,
  platformOfSysconfigdata,
  pythonForBuild,
  readBuildFacts,
  readSysconfigdataVars,
} from '../src/pipeline/build-facts/index.js';
import { LiteralError } from '../src/pipeline/build-facts/literal.js';
import { REPO, makeFs, throwsPackError } from './helpers.js';

const MAKEFILE = '/py/build/Makefile';
const SYSCONFIG = '/py/build/build/lib.emscripten-wasm32-3.11/_sysconfigdata__emscripten_wasm32-emscripten.py';

/** A sysconfigdata module as CPython writes it (pprint of build_time_vars). */
function sysconfigdata(vars: Record<string, string | number>): string {
  const lines = Object.entries(vars).map(([k, v]) => ` ${JSON.stringify(k)}: ${typeof v === 'string' ? `'${v}'` : v}`);
  return `# system configuration generated and used by the sysconfig module\nbuild_time_vars = {${lines.join(',\n')}}\n`;
}

function facts(makefile: string | undefined, vars: Record<string, string | number> | string) {
  const tree: Record<string, string> = {};
  if (makefile !== undefined) tree[MAKEFILE] = makefile;
  tree[SYSCONFIG] = typeof vars === 'string' ? vars : sysconfigdata(vars);
  return readBuildFacts({ fs: makeFs(tree), makefilePath: makefile === undefined ? undefined : MAKEFILE, sysconfigdataPath: SYSCONFIG });
}

const availability = (modules: Map<string, { available: boolean }>): Record<string, boolean> =>
  Object.fromEntries([...modules].map(([name, fact]) => [name, fact.available]).sort());

// ---
const makefile = suite('parseMakefile');

makefile('reads NAME=value, NAME = value, := and ?= assignments, trimming the value', () => {
  const vars = parseMakefile('VERSION=\t3.11\nprefix = /usr/local  \nCC:= emcc\nAR ?= emar\n');
  assert.equal(Object.fromEntries(vars), { VERSION: '3.11', prefix: '/usr/local', CC: 'emcc', AR: 'emar' });
});

makefile('keeps the first assignment of a name, as the reference reads MODDISABLED_NAMES', () => {
  const vars = parseMakefile('MODDISABLED_NAMES= pwd _ssl\nMODDISABLED_NAMES= other\n');
  assert.is(vars.get('MODDISABLED_NAMES'), 'pwd _ssl');
});

makefile('joins backslash continuations (LF and CRLF) into one value', () => {
  const vars = parseMakefile('OBJS= a.o \\\n\tb.o \\\r\n\tc.o\nNEXT=1\n');
  assert.equal(vars.get('OBJS')?.split(/\s+/), ['a.o', 'b.o', 'c.o']);
  assert.is(vars.get('NEXT'), '1');
});

makefile('ignores comments, recipe lines, rules and += appends', () => {
  const vars = parseMakefile('# VERSION=2.7\n\tFOO=recipe\nall: build\nCFLAGS+= -O2\nVERSION=3.11\n');
  assert.equal([...vars.keys()], ['VERSION']);
  assert.is(vars.get('VERSION'), '3.11');
});

makefile('keeps an empty value', () => {
  assert.is(parseMakefile('ABIFLAGS=\t\n').get('ABIFLAGS'), '');
});

makefile.run();

// ---
const expand = suite('expandMakeVars');

expand('expands $(VAR) and ${VAR}, recursively', () => {
  const vars = parseMakefile('prefix=/usr/local\nexec_prefix=${prefix}\nLIBDIR=$(exec_prefix)/lib\n');
  assert.is(expandMakeVars('$(LIBDIR)/python', vars), '/usr/local/lib/python');
});

expand('expands unknown variables to nothing', () => {
  assert.is(expandMakeVars('a$(NOPE)b${NOPE}c', new Map()), 'abc');
});

expand('stops on a self-referencing variable instead of looping', () => {
  const vars = new Map([['A', 'x$(A)']]);
  assert.match(expandMakeVars('$(A)', vars), /^x+/);
});

expand.run();

// ---
const python = suite('pythonForBuild');

const CONFIGURE_LINE =
  '_PYTHON_PROJECT_BASE=$(abs_builddir) _PYTHON_HOST_PLATFORM=$(_PYTHON_HOST_PLATFORM) ' +
  'PYTHONPATH=$(shell test -f pybuilddir.txt && echo $(abs_builddir)/`cat pybuilddir.txt`:)$(srcdir)/Lib ' +
  '_PYTHON_SYSCONFIGDATA_NAME=_sysconfigdata_$(ABIFLAGS)_$(MACHDEP)_$(MULTIARCH) $(PYTHON_FOR_FREEZE)';

python('finds the interpreter after the env assignments configure writes (with $(shell ...) holding spaces)', () => {
  const vars = parseMakefile(`abs_builddir=/abs/build\nPYTHON_FOR_FREEZE=/abs/build/python\nPYTHON_FOR_BUILD=${CONFIGURE_LINE}\n`);
  assert.is(pythonForBuild(vars), '/abs/build/python');
});

python("skips a WASI build's quoted host runner, whose value holds spaces and -- (configure.ac: _PYTHON_HOSTRUNNER='wasmtime run ...')", () => {
  const makefile = nodeFs.readFileSync(path.join(REPO, 'test/fixtures/builds/wasi-3.11/Makefile'), 'utf8');
  assert.match(makefile, /^PYTHON_FOR_BUILD=_PYTHON_HOSTRUNNER='wasmtime run /m);
  assert.is(pythonForBuild(parseMakefile(makefile)), '/src/cpython/builddir/build/python');
  assert.is(pythonForBuild(parseMakefile(`PYTHON_FOR_BUILD=A="x y" B='p q' "/opt/my python/bin/python3"\n`)), '/opt/my python/bin/python3');
});

python('returns a literal interpreter path as written', () => {
  const vars = parseMakefile(`PYTHON_FOR_BUILD=_PYTHON_PROJECT_BASE=$(abs_builddir) /opt/python3.11/bin/python3.11\n`);
  assert.is(pythonForBuild(vars), '/opt/python3.11/bin/python3.11');
});

python('drops the interpreter arguments', () => {
  assert.is(pythonForBuild(parseMakefile('PYTHON_FOR_BUILD=./python$(BUILDEXE) -E\nBUILDEXE=.js\n')), './python.js');
});

python('returns undefined without PYTHON_FOR_BUILD, when it is empty, or when it holds only assignments', () => {
  assert.is(pythonForBuild(new Map()), undefined);
  assert.is(pythonForBuild(parseMakefile('PYTHON_FOR_BUILD=\n')), undefined);
  assert.is(pythonForBuild(parseMakefile('PYTHON_FOR_BUILD=A=1 B=$(shell echo x y)\n')), undefined);
});

python('returns undefined when the command expands to nothing', () => {
  assert.is(pythonForBuild(parseMakefile(`PYTHON_FOR_BUILD=${CONFIGURE_LINE}\n`)), undefined);
});

python.run();

// ---
const platform = suite('platformOfSysconfigdata and defaultTarget');

platform('tells Emscripten and WASI sysconfigdata names apart', () => {
  assert.is(platformOfSysconfigdata('_sysconfigdata__emscripten_wasm32-emscripten'), 'emscripten');
  assert.is(platformOfSysconfigdata('_sysconfigdata__wasi_wasm32-wasi'), 'wasi');
  assert.is(platformOfSysconfigdata('_sysconfigdata__linux_x86_64-linux-gnu'), undefined);
});

platform('defaults Emscripten to the browser target, WASI to wasi', () => {
  assert.equal(defaultTarget({ platform: 'emscripten' }), { target: 'emscripten-browser' });
  assert.equal(defaultTarget({ platform: 'wasi' }), { target: 'wasi' });
});

platform("reads a node build from the Makefile first (configure's --with-emscripten-target, or -sNODERAWFS), then the sysconfigdata", () => {
  const node = parseMakefile("CONFIG_ARGS=\t '-C' '--host=wasm32-unknown-emscripten' '--with-emscripten-target=node' '--disable-test-modules'\n");
  assert.equal(defaultTarget({ platform: 'emscripten', makefile: node, makefilePath: '/b/Makefile' }), { target: 'emscripten-node', evidence: '--with-emscripten-target=node in CONFIG_ARGS of /b/Makefile' });
  const browser = parseMakefile("CONFIG_ARGS= '--with-emscripten-target=browser'\n");
  const rawfs = new Map<string, string>([['LDFLAGS_NODIST', '-sALLOW_MEMORY_GROWTH -sNODERAWFS']]);
  assert.equal(defaultTarget({ platform: 'emscripten', makefile: browser, makefilePath: '/b/Makefile', sysconfigVars: rawfs, sysconfigdataPath: '/b/s.py' }).target, 'emscripten-browser', 'the Makefile wins');
  assert.equal(defaultTarget({ platform: 'emscripten', sysconfigVars: rawfs, sysconfigdataPath: '/b/s.py' }), { target: 'emscripten-node', evidence: '-sNODERAWFS in LDFLAGS_NODIST of /b/s.py' });
  const flags = parseMakefile('CONFIGURE_LDFLAGS_NODIST= -sFORCE_FILESYSTEM -sNODERAWFS\n');
  assert.is(defaultTarget({ platform: 'emscripten', makefile: flags, makefilePath: '/b/Makefile' }).target, 'emscripten-node');
  assert.is(defaultTarget({ platform: 'emscripten', makefile: parseMakefile('LDFLAGS_NODIST= -sNODERAWFSX\n'), makefilePath: '/b/Makefile' }).target, 'emscripten-browser');
});

platform.run();

// ---
const read = suite('readBuildFacts');

read('maps each MODULE_*_STATE: yes is available; disabled, missing and n/a are not', () => {
  const got = facts(undefined, {
    MODULE__SSL_STATE: 'missing',
    MODULE_ZLIB_STATE: 'yes',
    MODULE__TKINTER_STATE: 'disabled',
    MODULE__SCPROXY_STATE: 'n/a',
    MODULE_XXLIMITED_35_STATE: 'yes',
    MODULE_NAME: 'x',
    HAVE_STATE: 'weird',
  });
  assert.equal(availability(got.modules), { _scproxy: false, _ssl: false, _tkinter: false, xxlimited_35: true, zlib: true });
});

read('lets MODDISABLED_NAMES win over MODULE_*_STATE', () => {
  const got = facts('MODDISABLED_NAMES=  pwd  _sqlite3\n', { MODULE__SQLITE3_STATE: 'yes', MODULE_PWD_STATE: 'yes', MODULE__JSON_STATE: 'yes' });
  assert.equal(availability(got.modules), { _json: true, _sqlite3: false, pwd: false });
  assert.is(got.modules.get('_sqlite3')?.evidence, `_sqlite3 is in MODDISABLED_NAMES in ${MAKEFILE}`);
});

read('reads only the first MODDISABLED_NAMES= line, and an empty one disables nothing', () => {
  assert.equal(availability(facts('MODDISABLED_NAMES=\nMODDISABLED_NAMES= _ssl\n', { MODULE__SSL_STATE: 'yes' }).modules), { _ssl: true });
  assert.equal(availability(facts('MODDISABLED_NAMES= _ssl\nMODDISABLED_NAMES=\n', { MODULE__SSL_STATE: 'yes' }).modules), { _ssl: false });
});

read('gives evidence naming the variable, its value and the file', () => {
  const got = facts(undefined, { MODULE__SSL_STATE: 'missing', MODULE_ZLIB_STATE: 'yes' });
  assert.is(got.modules.get('_ssl')?.evidence, `MODULE__SSL_STATE = 'missing' in ${SYSCONFIG}`);
  assert.is(got.modules.get('zlib')?.evidence, `MODULE_ZLIB_STATE = 'yes' in ${SYSCONFIG}`);
});

read('fails on an unknown state with ERR_MODULE_STATE naming the variable, the value and the file', () => {
  const error = throwsPackError(() => facts(undefined, { MODULE_ZLIB_STATE: 'yes', MODULE__SSL_STATE: 'maybe' }), 'ERR_MODULE_STATE', 'MODULE__SSL_STATE', '"maybe"', SYSCONFIG);
  assert.ok(error.hint);
});

read('fails on a state that is not a string (an int) with ERR_MODULE_STATE', () => {
  throwsPackError(() => facts(undefined, { MODULE__SSL_STATE: 1 }), 'ERR_MODULE_STATE', 'MODULE__SSL_STATE', SYSCONFIG);
});

read('fails on a sysconfigdata holding code with ERR_SYSCONFIGDATA naming the file, line and column', () => {
  const source = "build_time_vars = {'A': 1}\nimport os; os.system('true')\n";
  const error = throwsPackError(() => facts(undefined, source), 'ERR_SYSCONFIGDATA', SYSCONFIG, 'line 2, column 1');
  assert.instance(error.cause, LiteralError);
  assert.ok(error.hint);
});

read('fails with ERR_SYSCONFIGDATA or ERR_MAKEFILE (and the errno) when a file is missing', () => {
  const fs = makeFs({ [MAKEFILE]: '' });
  throwsPackError(() => readBuildFacts({ fs, sysconfigdataPath: '/py/nope.py' }), 'ERR_SYSCONFIGDATA', '/py/nope.py', 'ENOENT');
  throwsPackError(() => readBuildFacts({ fs, makefilePath: '/py/Makefile.nope' }), 'ERR_MAKEFILE', '/py/Makefile.nope', 'ENOENT');
});

read('returns the sysconfigdata name, bytes, platform and sources', () => {
  const source = sysconfigdata({ MACHDEP: 'emscripten' });
  const got = facts('VERSION=3.11\n', source);
  assert.is(got.sysconfigdataName, '_sysconfigdata__emscripten_wasm32-emscripten');
  assert.is(got.sysconfigdataPath, SYSCONFIG);
  assert.is(Buffer.from(got.sysconfigdataSource!).toString('utf8'), source);
  assert.is(got.platform, 'emscripten');
  assert.is(got.makefile?.get('VERSION'), '3.11');
  assert.is(got.source, `${MAKEFILE} and ${SYSCONFIG}`);
});

read('takes the platform from the file name, else from MACHDEP', () => {
  const fs = makeFs({ '/py/_sysconfigdata__wasi_wasm32-wasi.py': sysconfigdata({}), '/py/_sysconfigdata_custom.py': sysconfigdata({ MACHDEP: 'wasi' }) });
  assert.is(readBuildFacts({ fs, sysconfigdataPath: '/py/_sysconfigdata__wasi_wasm32-wasi.py' }).platform, 'wasi');
  assert.is(readBuildFacts({ fs, sysconfigdataPath: '/py/_sysconfigdata_custom.py' }).platform, 'wasi');
});

read('knows no modules and assumes Emscripten without any input', () => {
  const got = readBuildFacts({ fs: makeFs({}) });
  assert.is(got.modules.size, 0);
  assert.is(got.platform, 'emscripten');
  assert.is(got.source, '');
});

read('reads the emscripten-3.11 build-root fixture like the reference does', () => {
  const root = path.join(REPO, 'test/fixtures/builds/emscripten-3.11');
  const pybuilddir = nodeFs.readFileSync(path.join(root, 'pybuilddir.txt'), 'utf8').trim();
  const got = readBuildFacts({
    fs: nodeFs,
    makefilePath: path.join(root, 'Makefile'),
    sysconfigdataPath: path.join(root, pybuilddir, '_sysconfigdata__emscripten_wasm32-emscripten.py'),
  });
  const modules = availability(got.modules);
  // MODULE__SQLITE3_STATE is 'yes', but the Makefile disables it (README.txt of the fixture).
  assert.is(modules._sqlite3, false);
  assert.match(got.modules.get('_sqlite3')!.evidence, 'MODDISABLED_NAMES');
  assert.is(modules._ssl, false);
  assert.is(modules.zlib, true);
  assert.is(modules._json, true);
  // 3.11's configure has no MODULE__CTYPES_STATE: no fact, so rules count it unavailable.
  assert.is(got.modules.has('_ctypes'), false);
  assert.is(got.makefile?.get('VERSION'), '3.11');
});

read.run();

// ---
const vars = suite('readSysconfigdataVars');

vars('returns build_time_vars as a Map', () => {
  assert.equal(Object.fromEntries(readSysconfigdataVars("build_time_vars = {'A': 1, 'B': 'x'}", 'f.py')), { A: 1, B: 'x' });
});

vars('wraps a parse failure in ERR_SYSCONFIGDATA with the file name', () => {
  throwsPackError(() => readSysconfigdataVars('build_time_vars = dict()', '/x/f.py'), 'ERR_SYSCONFIGDATA', '/x/f.py is not a plain sysconfigdata literal', 'line 1, column 19');
});

vars.run();
