/**
 * The warm start, beside the pipeline: what a run needs first is the build
 * interpreter's answer (its version, magic, own stdlib), and starting an
 * interpreter costs ~10-100 ms (~180 ms through pyenv's shim, seconds for a
 * Pyodide that has to boot). When the interpreter's identity is what it was when
 * it last answered (interpreter-identity.ts), that answer is taken as it is, and the
 * interpreter is not started. Otherwise a run that has seen this interpreter
 * before runs the whole pipeline on its last answer meanwhile, and keeps that
 * work only if the interpreter then answers exactly the same; otherwise it runs
 * the pipeline again on the real answer. The pipeline writes no outputs (the
 * caller writes them once the answer is confirmed), and the compile cache it
 * fills is keyed by the version and magic its workers check against the answer,
 * so a stale guess costs time, never different bytes.
 *
 * Without a last answer, the stdlib's walk (when its place is known from the
 * options alone: --lib, --srcdir, --builddir) still starts at once, beside the probe.
 */
import { performance } from 'node:perf_hooks';
import { probeInterpreter, probeStart, type InterpreterInfo } from '../interpreter/index.js';
import type { DiscoveryAhead } from '../pipeline/discover.js';
import { discover } from '../pipeline/discover.js';
import { completeOptions, readInputs, type ResolveResult } from '../pipeline/options/index.js';
import { prunedDirectories, type Rule, type RuleContext } from '../pipeline/rules.js';
import type { PackOptions } from '../types.js';
import { identityOf, loadInterpreterHint, saveInterpreterHint, trustedAnswer } from './interpreter-answers.js';
import { discoverCached } from './listing.js';

/** What a pipeline run is given: the options resolved with one interpreter answer, and a walk begun ahead. */
export interface RunInput extends ResolveResult {
  ahead?: DiscoveryAhead;
  /** Milliseconds from the start until these options were resolved. */
  resolveMs: number;
}

/** Two answers give the same run: every field the options and the pycs depend on is equal. */
export function sameAnswer(a: InterpreterInfo, b: InterpreterInfo): boolean {
  return JSON.stringify({ ...a, cwd: undefined }) === JSON.stringify({ ...b, cwd: undefined });
}

/**
 * How a run started: `trusted` took the last answer as it is, the interpreter's
 * identity being unchanged (interpreter-identity.ts), without starting it;
 * `confirmed` ran on the last answer, which the interpreter then gave again; `stale`
 * found another answer and ran again with it; `none` had no last answer.
 */
export type WarmState = 'trusted' | 'confirmed' | 'stale' | 'none';

/**
 * Runs `run` (the pipeline, which must not write outputs) with the options resolved
 * from `input` and the build interpreter's answer: the last answer as it is when its
 * identity holds; else on the last answer first when there is one, beside the
 * probe; returns the run whose answer the interpreter confirmed.
 */
export async function warmStart<T>(input: PackOptions, rules: Rule[], run: (resolved: RunInput) => Promise<T>): Promise<{ value: T; warm: WarmState }> {
  const started = performance.now();
  const inputs = readInputs(input);
  const resolved = (python: InterpreterInfo): RunInput => ({ ...completeOptions(inputs, python), ahead, resolveMs: Math.round(performance.now() - started) });
  const answers = input.cache === false ? undefined : inputs.cacheDir;
  const ahead = walkAhead(inputs.lib, inputs.fs, answers, rules, input);
  const hint = answers ? loadInterpreterHint(inputs.fs, answers, inputs.python.executable, inputs.cwd) : undefined;
  const trusted = trustedAnswer(hint, inputs.python.executable, inputs.cwd);
  if (trusted) return { value: await run(resolved(trusted)), warm: 'trusted' };

  const probeStarted = probeStart(inputs.python.executable, inputs.cwd);
  const probing = probeInterpreter(inputs.python.executable, { cwd: inputs.cwd, cacheDir: inputs.cacheDir }).catch((error) => {
    throw inputs.python.explain(error);
  });
  probing.catch(() => {}); // awaited below
  const record = (python: InterpreterInfo) => {
    if (answers) saveInterpreterHint(inputs.fs, answers, python, inputs.cwd, identityOf(python, inputs.cwd, probeStarted));
  };
  const last = hint?.info;
  if (last) {
    let guessed: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      guessed = { ok: true, value: await run(resolved(last)) };
    } catch (error) {
      guessed = { ok: false, error };
    }
    const python = await probing;
    record(python);
    if (sameAnswer(python, last)) {
      if (!guessed.ok) throw guessed.error;
      return { value: guessed.value, warm: 'confirmed' };
    }
    // The interpreter behind this name changed: everything is redone with its real answer.
    return { value: await run(resolved(python)), warm: 'stale' };
  }
  const python = await probing;
  record(python);
  return { value: await run(resolved(python)), warm: 'none' };
}

/**
 * The stdlib's walk, begun as soon as its place is known from the options alone, with
 * the prune globs of the rules that apply whatever the build (the pipeline uses it only
 * if it ends up with the same tree and globs).
 */
function walkAhead(lib: string | undefined, fs: RunInput['options']['fs'], cacheDir: string | undefined, rules: Rule[], input: PackOptions): DiscoveryAhead | undefined {
  if (!lib) return undefined;
  const context: RuleContext = { profile: input.pyodide !== undefined ? 'pyodide' : input.profile ?? 'wasm', target: 'emscripten-browser', platform: 'emscripten', modules: new Map(), factsSource: '', platformEvidence: '', keep: input.keep, packages: new Set() };
  const prune = prunedDirectories(rules.filter((r) => !r.when && !r.python), context).map((p) => p.glob);
  const tree = discoverCached(fs, cacheDir, lib, prune, () => discover(lib, fs, { prune }));
  tree.catch(() => {}); // the pipeline reports its own walk's errors
  return { lib, prune, tree };
}

