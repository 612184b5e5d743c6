// One pack() in its own process, for test/bench/bench.ts: the parent reads the
// last stdout line (JSON). Runs the built library (dist/), as users do, so the
// wall time is not tsx's transpiling. Usage: node pack-once.mjs '<options JSON>'
import { pack } from '../../dist/index.js';

const started = performance.now();
const options = JSON.parse(process.argv[2]);
const result = await pack(options);
const ms = performance.now() - started;
const zip = result.outputs.find((o) => o.kind === 'zip');
console.log(
  JSON.stringify({
    ms,
    timings: result.stats.timings,
    modules: result.stats.modules,
    cacheHits: result.stats.cacheHits,
    cacheMisses: result.stats.cacheMisses,
    warmStart: result.stats.warmStart,
    zipBytes: result.stats.zipBytes,
    // The parent hashes it after this process ends: verifying is not part of the pack's time.
    zipPath: zip ? zip.path : null,
    kept: result.kept.map((k) => ({ path: k.path, origin: k.origin })),
    // Kilobytes, this (Node) process only; the parent adds the workers' via /usr/bin/time.
    maxRssKb: process.resourceUsage().maxRSS,
  }),
);
