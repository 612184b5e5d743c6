/**
 * The package loader (`NAME.js`). Written by us; it keeps the contract of
 * Emscripten's file_packager loader with the runtime (upstream
 * `tools/file_packager.py` `generate_js()`), so a runtime linked with
 * `-sFORCE_FILESYSTEM=1` accepts it:
 * - it reads or creates the global `Module` (`var Module = typeof Module != 'undefined' ? ...`),
 *   so it works as `--pre-js`, as a script before the runtime, or evaluated with
 *   `Module` in scope before calling a MODULARIZE factory with that object;
 * - it counts `Module.expectedDataFileDownloads`, starts fetching at once, and
 *   holds the program back with `addRunDependency('datafile_NAME.data')` from
 *   `Module.preRun` (or runs at once when `Module.calledRun`);
 * - `Module.locateFile(name, '')` and `Module.getPreloadedPackage(url, size)` are honoured;
 * - directories via `FS_createPath(parent, name, true, true)`, files via
 *   `FS_createDataFile(path, null, bytes, true, true, true)`.
 * Unlike upstream it never hangs silently: a missing or short `.data`, bad
 * metadata or offsets that do not tile the data call `Module.onAbort(message)`
 * and throw an Error naming the file and the sizes (an uncaught exception: Node
 * exits non-zero, a page gets `error`).
 * The text depends only on its inputs, so the same tree gives the same bytes.
 */

export interface LoaderOptions {
  dataFileName: string;
  /** Fetched at run time when the metadata is separate. */
  metadataFileName?: string;
  /** Exact metadata JSON to inline instead. */
  inlineMetadata?: string;
}

/** A JS string literal (JSON is valid JS once U+2028/U+2029 are escaped). */
function jsString(text: string): string {
  return JSON.stringify(text).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function renderLoader(options: LoaderOptions): string {
  const metadataName = options.metadataFileName === undefined ? 'null' : jsString(options.metadataFileName);
  const inline = options.inlineMetadata ?? 'null';
  return `// ${options.dataFileName.replace(/[\r\n]/g, ' ')} loader, written by pywasm-assets.
// Emscripten file_packager format; link the program with -sFORCE_FILESYSTEM=1.
var Module = typeof Module != 'undefined' ? Module : {};
(function () {
  'use strict';
  var DATA_NAME = ${jsString(options.dataFileName)};
  var METADATA_NAME = ${metadataName};
  var INLINE_METADATA = ${inline};
  var PREFIX = 'pywasm-assets loader: ';

  // Workers of a threaded build share the main thread's file system.
  if (typeof ENVIRONMENT_IS_PTHREAD != 'undefined' && ENVIRONMENT_IS_PTHREAD) return;
  if (typeof ENVIRONMENT_IS_WASM_WORKER != 'undefined' && ENVIRONMENT_IS_WASM_WORKER) return;
  if (Module['ENVIRONMENT_IS_PTHREAD']) return;

  var isNode = typeof process == 'object' && process !== null && typeof process.versions == 'object' &&
    process.versions !== null && typeof process.versions.node == 'string' && process.type != 'renderer';
  var dependency = 'datafile_' + DATA_NAME;
  var metadata = null;
  var bytes = null;
  var dataUrl = null;
  var runtimeReady = false;
  var dependencyAdded = false;
  var installed = false;
  var failed = false;

  Module['expectedDataFileDownloads'] = (Module['expectedDataFileDownloads'] || 0) + 1;
  if (!Module['preloadResults']) Module['preloadResults'] = {};
  Module['preloadResults'][DATA_NAME] = { fromCache: false };

  // Fail loudly: the runtime would otherwise wait for the run dependency forever.
  function fail(message, cause) {
    var text = PREFIX + message;
    var error = new Error(text);
    if (cause !== undefined) error.cause = cause;
    if (!failed) {
      failed = true;
      // Not Module.abort: debug builds define it as a trap that aborts with "'abort' was not exported".
      if (typeof Module['onAbort'] == 'function') Module['onAbort'](text);
    }
    throw error;
  }

  // Run outside any promise chain, so a failure is an uncaught exception, not a lost rejection.
  function later(fn) {
    setTimeout(fn, 0);
  }

  function nodeModule(name) {
    if (typeof require == 'function') return require(name);
    if (typeof process.getBuiltinModule == 'function') return process.getBuiltinModule(name);
    fail('cannot load the Node.js module "' + name + '": no require() in scope');
  }

  function locate(name) {
    if (typeof Module['locateFile'] == 'function') return Module['locateFile'](name, '');
    // Like the runtime's own .wasm: next to the script under Node.js, relative to the page in a browser.
    if (isNode && typeof __dirname == 'string') return nodeModule('path').join(__dirname, name);
    return name;
  }

  // Emscripten's FS errors carry an errno (musl's numbering) and the message 'FS error'.
  var ERRNO = { 2: 'EACCES', 20: 'EEXIST', 29: 'EIO', 31: 'EISDIR', 44: 'ENOENT', 51: 'ENOSPC', 54: 'ENOTDIR', 63: 'EPERM', 69: 'EROFS' };

  function describe(error) {
    if (error && typeof error.errno == 'number' && !error.code) return (ERRNO[error.errno] || 'errno ' + error.errno) + ', ' + error.message;
    return error && (error.code || error.message) ? String(error.code || error.message) : String(error);
  }

  var TWO_PACKAGES = 'two packages provide the stdlib at the same paths: the program was linked with its own ' +
    "assets (CPython's make links python.js with --preload-file). Re-link it without them " +
    "(make LINKFORSHARED='-O2 -g0' 'LIBRARY_DEPS=$(LIBRARY) $(PY3LIBRARY)' python.js), or load only one of the two";

  // A NODERAWFS program (CPython 3.11's node target) works on the host's real files: the
  // package would write the stdlib into the host's directories. Loaded as the program's
  // --pre-js or concatenated before it (the ways to load a package into it), the loader
  // shares the runtime's scope, where NODERAWFS is defined only in such a program.
  function onHostFiles() {
    return typeof NODERAWFS != 'undefined';
  }

  function read(url, what, done) {
    if (isNode) {
      nodeModule('fs').readFile(url, function (error, buffer) {
        if (error) return fail('cannot read ' + what + ' at ' + url + ' (' + describe(error) + ')', error);
        done(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
      });
    } else if (typeof fetch == 'function') {
      fetch(url).then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status + ' ' + response.statusText);
        return response.arrayBuffer();
      }).then(function (buffer) {
        later(function () { done(new Uint8Array(buffer)); });
      }, function (error) {
        later(function () { fail('cannot fetch ' + what + ' from ' + url + ' (' + describe(error) + ')', error); });
      });
    } else {
      var xhr = new XMLHttpRequest();
      xhr.open('GET', url, true);
      xhr.responseType = 'arraybuffer';
      xhr.onload = function () {
        if (xhr.status == 200 || (xhr.status == 0 && xhr.response)) done(new Uint8Array(xhr.response));
        else fail('cannot fetch ' + what + ' from ' + url + ' (HTTP ' + xhr.status + ' ' + xhr.statusText + ')');
      };
      xhr.onerror = function () { fail('cannot fetch ' + what + ' from ' + url + ' (network error)'); };
      xhr.send(null);
    }
  }

  function isOffset(value) {
    return typeof value == 'number' && value >= 0 && Math.floor(value) === value;
  }

  // The files must tile the data exactly, in order: an offset that is off by
  // one anywhere shows up here instead of as silently shifted file contents.
  function checkMetadata(value, source) {
    if (!value || typeof value != 'object' || !Array.isArray(value['files'])) {
      fail(source + ' has no "files" list');
    }
    var size = value['remote_package_size'];
    if (!isOffset(size)) fail(source + ' has no valid "remote_package_size" (got ' + JSON.stringify(size) + ')');
    var expected = 0;
    var files = value['files'];
    for (var i = 0; i < files.length; i++) {
      var file = files[i] || {};
      var name = file['filename'];
      if (typeof name != 'string' || name.charAt(0) != '/') {
        fail(source + ': files[' + i + '] has no absolute "filename" (got ' + JSON.stringify(name) + ')');
      }
      if (!isOffset(file['start']) || !isOffset(file['end']) || file['end'] < file['start']) {
        fail(source + ': ' + name + ' has invalid offsets start ' + file['start'] + ', end ' + file['end']);
      }
      if (file['start'] !== expected) {
        fail(source + ': ' + name + ' starts at byte ' + file['start'] + ' but the previous file ends at byte ' +
          expected + '; the metadata does not match ' + DATA_NAME);
      }
      expected = file['end'];
    }
    if (expected !== size) {
      fail(source + ': the files end at byte ' + expected + ' but remote_package_size is ' + size +
        '; the metadata does not match ' + DATA_NAME);
    }
    return value;
  }

  function gotMetadata(value, source) {
    metadata = checkMetadata(value, source);
    var size = metadata['remote_package_size'];
    dataUrl = locate(DATA_NAME);
    var preloaded = typeof Module['getPreloadedPackage'] == 'function'
      ? Module['getPreloadedPackage'](dataUrl, size) : null;
    if (preloaded) {
      gotData(preloaded instanceof Uint8Array ? preloaded : new Uint8Array(preloaded), 'Module.getPreloadedPackage');
    } else {
      read(dataUrl, DATA_NAME, function (data) { gotData(data, dataUrl); });
    }
  }

  function gotData(data, source) {
    var expected = metadata['remote_package_size'];
    if (data.length !== expected) {
      fail(DATA_NAME + ' (' + source + ') is ' + data.length + ' bytes but ' +
        (METADATA_NAME || 'the loader\\'s metadata') + ' expects ' + expected +
        ' (remote_package_size): the file is ' + (data.length < expected ? 'truncated' : 'too long') +
        ' or from another build; serve ' + DATA_NAME + ' and its loader from the same pack');
    }
    bytes = data;
    install();
  }

  function install() {
    if (!runtimeReady || !bytes || installed || failed) return;
    installed = true;
    var createPath = Module['FS_createPath'];
    var createDataFile = Module['FS_createDataFile'];
    if (typeof createPath != 'function' || typeof createDataFile != 'function') {
      fail('Module.FS_createPath/FS_createDataFile are missing: link the program with -sFORCE_FILESYSTEM=1');
    }
    if (onHostFiles()) {
      fail("this program reads the host's real files (it was linked with -sNODERAWFS, as CPython's node " +
        "target is), so a preload package cannot work there: it would write into the host's directories. " +
        'Pack with --target emscripten-node, which writes the directory tree such a program reads, and run ' +
        'python.js from <out>/usr/local/bin/ (see the README)');
    }
    var made = Object.create(null);
    var owned = Object.create(null);
    var files = metadata['files'];
    for (var i = 0; i < files.length; i++) {
      var name = files[i]['filename'];
      var parts = name.split('/');
      var parent = '/';
      for (var j = 1; j < parts.length - 1; j++) {
        var path = (parent == '/' ? '' : parent) + '/' + parts[j];
        if (!made[path]) {
          made[path] = true;
          createPath(parent, parts[j], true, true);
        }
        parent = path;
      }
      try {
        // canOwn: the slice of the downloaded buffer becomes the file's contents.
        createDataFile(name, null, bytes.subarray(files[i]['start'], files[i]['end']), true, true, true);
      } catch (error) {
        if (error && error.errno === 20) fail('cannot create ' + name + ': it exists already (EEXIST): ' + TWO_PACKAGES, error);
        fail('cannot create ' + name + ' (' + describe(error) + ')', error);
      }
      owned[name] = true;
    }
    // A package loaded after this one that writes the same paths fails here, with the same message,
    // instead of with its own bare "FS error".
    Module['FS_createDataFile'] = function (parent, name) {
      var path = name == null ? String(parent) : (String(parent) == '/' ? '' : String(parent)) + '/' + name;
      if (owned[path]) fail('another package writes ' + path + ' again after ' + DATA_NAME + ': ' + TWO_PACKAGES);
      return createDataFile.apply(this, arguments);
    };
    if (dependencyAdded) Module['removeRunDependency'](dependency);
  }

  function onRuntimeReady(started) {
    runtimeReady = true;
    if (!started && !bytes && !failed && typeof Module['addRunDependency'] == 'function') {
      Module['addRunDependency'](dependency);
      dependencyAdded = true;
    }
    install();
  }

  if (Module['calledRun']) {
    onRuntimeReady(true);
  } else {
    var preRun = Module['preRun'];
    if (!preRun) preRun = [];
    else if (typeof preRun == 'function') preRun = [preRun];
    preRun.push(function () { onRuntimeReady(false); });
    Module['preRun'] = preRun;
  }

  if (INLINE_METADATA) {
    gotMetadata(INLINE_METADATA, 'the metadata inlined in ' + DATA_NAME.replace(/\\.data$/, '') + '.js');
  } else {
    var metadataUrl = locate(METADATA_NAME);
    read(metadataUrl, METADATA_NAME, function (data) {
      var text = '';
      for (var i = 0; i < data.length; i += 8192) {
        text += String.fromCharCode.apply(null, data.subarray(i, i + 8192));
      }
      var value;
      try {
        value = JSON.parse(text);
      } catch (error) {
        return fail(METADATA_NAME + ' at ' + metadataUrl + ' is not valid JSON (' + describe(error) + ')', error);
      }
      gotMetadata(value, METADATA_NAME);
    });
  }
})();
`;
}
