import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultCacheDir } from '../src/pipeline/options/index.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pywasm-options-')));

// ---
const cache = suite('defaultCacheDir');

cache('uses node_modules/.cache of the nearest directory with a package.json', () => {
  fs.mkdirSync(path.join(tmp, 'project/src/deep'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'project/package.json'), '{}');
  assert.is(defaultCacheDir(path.join(tmp, 'project/src/deep')), path.join(tmp, 'project/node_modules/.cache/pywasm-assets'));
  assert.is(defaultCacheDir(path.join(tmp, 'project')), path.join(tmp, 'project/node_modules/.cache/pywasm-assets'));
});

cache('outside any package (a CPython checkout, say) uses the user cache directory, not a new node_modules/', () => {
  fs.mkdirSync(path.join(tmp, 'cpython/builddir'), { recursive: true });
  const saved = process.env.XDG_CACHE_HOME;
  try {
    process.env.XDG_CACHE_HOME = path.join(tmp, 'xdg');
    assert.is(defaultCacheDir(path.join(tmp, 'cpython/builddir')), path.join(tmp, 'xdg/pywasm-assets'));
    delete process.env.XDG_CACHE_HOME;
    assert.is(defaultCacheDir(path.join(tmp, 'cpython/builddir')), path.join(os.homedir(), '.cache/pywasm-assets'));
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
});

cache.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
cache.run();
