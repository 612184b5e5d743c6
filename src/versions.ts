/**
 * Python versions (`3.13`) and the data pywasm-assets keeps per version
 * (rules/builds/emscripten-<version>.json, rules/builtins/<version>.json).
 */

/** `3.9` < `3.10` < `3.13`. */
export function compareVersions(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/**
 * The version to take data from for `version`: itself when kept, else the newest
 * kept one below it (a 3.15 stdlib is most like 3.14's), else the oldest.
 */
export function nearestVersion(version: string, kept: string[]): string | undefined {
  if (kept.includes(version)) return version;
  const sorted = [...kept].sort(compareVersions);
  const below = sorted.filter((v) => compareVersions(v, version) < 0);
  return below.length ? below[below.length - 1] : sorted[0];
}

/**
 * The bytecode magic number a CPython source tree states in
 * Include/internal/pycore_magic_number.h (`#define PYC_MAGIC_NUMBER 3627`), where
 * 3.14 moved it out of Lib/importlib/_bootstrap_external.py.
 */
export function readMagicFromHeader(source: string): number | undefined {
  const match = /^#define\s+PYC_MAGIC_NUMBER\s+(\d+)\s*$/m.exec(source);
  return match ? Number(match[1]) : undefined;
}
