#!/usr/bin/env node
// The interpreter probe starts first, so it overlaps the loading of the CLI (src/cache/prefetch.ts).
import { prefetchFor } from '../dist/prefetch.js';

prefetchFor(process.argv.slice(2));
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
