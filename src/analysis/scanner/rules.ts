/**
 * The scan's rules, src/interpreter/python/imports.py's `_walk` and `_collect`
 * over the statement structure (statements.ts): one record per import, per
 * literal dynamic import and per sys.modules registration, with `conditional`
 * and `onWasm` from the try guards and `if` tests around it (conditions.ts)
 * and the module-level flags learnt on the way (flags.ts).
 */
import type { ImportRecord } from '../graph.js';
import { classify, classifyLazy, PLATFORM_MODULES, wasmValue } from './conditions.js';
import { known, type Node } from './expression.js';
import { bind, bindConstant, type Flags } from './flags.js';
import { mentions, nodeOf } from './lazy.js';
import type { Stmt } from './statements.js';

const GUARD_EXCEPTIONS = new Set(['ImportError', 'ModuleNotFoundError', 'Exception', 'BaseException']);
const DYNAMIC_CALLS = new Set(['import_module', '__import__']);

type Rec = ImportRecord;

/**
 * Visits a statement list (as imports.py's `_walk`).
 * conditional: statements here may not run on import.
 * wasm: the same, on a WebAssembly target, where some platform tests are decided.
 * top: module scope (flags are tracked only there).
 * guarded: inside a platform test or import-guarding try at module scope; names bound here become flags.
 */
export function walk(body: Stmt[], conditional: boolean, wasm: boolean, top: boolean, guarded: boolean, out: Rec[], flags: Flags): void {
  for (const stmt of body) {
    switch (stmt.k) {
      case 'import':
        walkImport(stmt, conditional, wasm, top, guarded, out, flags);
        break;
      case 'from':
        walkFrom(stmt, conditional, wasm, guarded, out, flags);
        break;
      case 'def':
        collect(stmt.body, out);
        break;
      case 'class':
        walk(stmt.body, conditional, wasm, false, false, out, flags);
        break;
      case 'if':
        walkIf(stmt, conditional, wasm, top, guarded, out, flags);
        break;
      case 'try':
        walkTry(stmt, conditional, wasm, top, guarded, out, flags);
        break;
      case 'block':
        for (const b of stmt.bodies) walk(b, conditional, wasm, top, guarded, out, flags);
        break;
      case 'assign':
      case 'expr':
        walkValue(stmt, conditional, wasm, top, guarded, out, flags);
        break;
    }
  }
}

function walkImport(stmt: Stmt & { k: 'import' }, conditional: boolean, wasm: boolean, top: boolean, guarded: boolean, out: Rec[], flags: Flags): void {
  for (const alias of stmt.names) {
    const rec: Rec = { name: alias.name, level: 0, names: [], conditional, line: stmt.line };
    if (conditional && !wasm) rec.onWasm = true;
    out.push(rec);
    if (guarded) flags.names.add(alias.asname ?? alias.name.split('.')[0]);
    if (top && alias.name === 'sys') flags.sys.add(alias.asname ?? 'sys');
  }
}

function walkFrom(stmt: Stmt & { k: 'from' }, conditional: boolean, wasm: boolean, guarded: boolean, out: Rec[], flags: Flags): void {
  const rec: Rec = { name: stmt.module, level: stmt.level, names: stmt.names.map((a) => a.name), conditional, line: stmt.line };
  if (conditional && !wasm) rec.onWasm = true;
  out.push(rec);
  if (guarded) for (const alias of stmt.names) flags.names.add(alias.asname ?? alias.name);
}

function walkIf(stmt: Stmt & { k: 'if' }, conditional: boolean, wasm: boolean, top: boolean, guarded: boolean, out: Rec[], flags: Flags): void {
  const test = stmt.test!;
  const kind = classifyLazy(test, flags);
  if (kind === 'platform') {
    const value = wasmValue(nodeOf(test), flags);
    walk(stmt.body, true, value === true ? wasm : true, top, top, out, flags);
    walk(stmt.orelse, true, value === false ? wasm : true, top, top, out, flags);
  } else if (kind === 'skip-body') {
    walk(stmt.body, true, true, top, false, out, flags);
    walk(stmt.orelse, conditional, wasm, top, guarded, out, flags);
  } else {
    walk(stmt.body, conditional, wasm, top, guarded, out, flags);
    walk(stmt.orelse, conditional, wasm, top, guarded, out, flags);
  }
}

function walkTry(stmt: Stmt & { k: 'try' }, conditional: boolean, wasm: boolean, top: boolean, guarded: boolean, out: Rec[], flags: Flags): void {
  const guard = stmt.handlers.some((h) => catchesImportError(h.type));
  const inner = conditional || guard;
  const winner = wasm || guard;
  const g = guarded || (top && guard);
  walk(stmt.body, inner, winner, top, g, out, flags);
  for (const h of stmt.handlers) walk(h.body, true, true, top, g, out, flags);
  walk(stmt.orelse, inner, winner, top, g, out, flags);
  walk(stmt.finalbody, conditional, wasm, top, guarded, out, flags);
}

function catchesImportError(node: Node | null): boolean {
  if (node === null) return true;
  if (node.k === 'Tuple') return node.elts.some(catchesImportError);
  if (node.k === 'Name') return GUARD_EXCEPTIONS.has(node.id);
  if (node.k === 'Attribute') return GUARD_EXCEPTIONS.has(node.attr);
  return false;
}

/** An assignment or expression statement: a dynamic import, sys.modules registrations, and (module level) the flags it binds. */
function walkValue(stmt: Stmt & { k: 'assign' | 'expr' }, conditional: boolean, wasm: boolean, top: boolean, guarded: boolean, out: Rec[], flags: Flags): void {
  const lazy = stmt.value;
  if (lazy === null) return;
  if (mentions(lazy, DYNAMIC_CALLS)) {
    const value = nodeOf(lazy);
    if (value.k === 'Call' && (value.func.k === 'Name' || value.func.k === 'Attribute')) dynamic(value, conditional, stmt.line, out);
  }
  if (!top || stmt.k !== 'assign') return;
  if (!stmt.ann && flags.sys.size) registers(stmt, conditional, wasm, flags.sys, out);
  // Only names of PLATFORM_MODULES or flags can make a platform test (see conditions.ts's `platform`).
  const platform = mentions(lazy, PLATFORM_MODULES, flags.names) && classify(nodeOf(lazy), flags) === 'platform';
  if (guarded || platform) bind(stmt.targets.map(nodeOf), flags);
  bindConstant(stmt, lazy, flags, platform && !guarded);
}

/** `importlib.import_module('x')` / `__import__('x')` as a statement's whole value: a dynamic record (not for relative names). */
function dynamic(call: Node & { k: 'Call' }, conditional: boolean, line: number, out: Rec[]): void {
  const f = call.func;
  const name = f.k === 'Attribute' ? f.attr : f.k === 'Name' ? f.id : undefined;
  if (name === undefined || !DYNAMIC_CALLS.has(name) || !call.args.length) return;
  const arg = call.args[0];
  if (arg.k === 'Constant' && arg.kind === 'str') {
    const value = known(arg);
    if (value && !value.startsWith('.')) out.push({ name: value, level: 0, names: [], conditional, line, dynamic: true });
  }
}

/** Each target `<sys>.modules['a.b']` of an assignment: the module registers `a.b` itself. */
function registers(stmt: Stmt & { k: 'assign' }, conditional: boolean, wasm: boolean, sysNames: Set<string>, out: Rec[]): void {
  for (const target of stmt.targets) {
    if (!mentions(target, sysNames)) continue;
    const node = nodeOf(target);
    if (node.k !== 'Subscript' || node.value.k !== 'Attribute' || node.value.attr !== 'modules') continue;
    const seq = node.value.value;
    const key = node.slice;
    if (seq.k !== 'Name' || !sysNames.has(seq.id) || key.k !== 'Constant' || key.kind !== 'str') continue;
    const name = known(key);
    if (!name) continue;
    const rec: Rec = { name, level: 0, names: [], conditional, line: stmt.line, registers: true };
    if (conditional && !wasm) rec.onWasm = true;
    out.push(rec);
  }
}

/** Every import under a function body: all conditional. */
function collect(body: Stmt[], out: Rec[]): void {
  for (const stmt of body) {
    switch (stmt.k) {
      case 'import':
        for (const alias of stmt.names) out.push({ name: alias.name, level: 0, names: [], conditional: true, line: stmt.line });
        break;
      case 'from':
        out.push({ name: stmt.module, level: stmt.level, names: stmt.names.map((a) => a.name), conditional: true, line: stmt.line });
        break;
      case 'def':
      case 'class':
        collect(stmt.body, out);
        break;
      case 'if':
        collect(stmt.body, out);
        collect(stmt.orelse, out);
        break;
      case 'try':
        collect(stmt.body, out);
        for (const h of stmt.handlers) collect(h.body, out);
        collect(stmt.orelse, out);
        collect(stmt.finalbody, out);
        break;
      case 'block':
        for (const b of stmt.bodies) collect(b, out);
        break;
    }
  }
}
