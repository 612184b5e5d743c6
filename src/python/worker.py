"""Build-interpreter worker for pywasm-assets.

Run as ``<python> -E -s -S -B worker.py``.  It reads requests from stdin and
writes responses to stdout, both framed the same way:

    4-byte big-endian header length | JSON header (UTF-8) | payload bytes

Ops (``header["op"]``):

``info``
    Answers ``{version, version_info, magic, magic_hex, implementation,
    cache_tag, executable, stdlib}``; no payload.
``compile``
    Header ``{id, items: [{filename, size}], optimize, invalidation, mtime?,
    imports?}``,
    payload = the items' raw source bytes, concatenated.  Answers
    ``{id, results: [{ok, pyc_size, imports, error}]}`` with the pycs of the
    items that compiled, concatenated, as payload.

The worker compiles from *bytes* (so PEP 263 coding cookies and BOMs are
honoured exactly as the import system does), builds each pyc the way
``importlib._bootstrap_external`` does (``_code_to_hash_pyc`` /
``_code_to_timestamp_pyc``, PEP 552), and never imports or executes the code it
compiles, never writes a file.  Errors in one source are reported for that
item; only a broken request ends the worker.

Reproducibility: ``marshal`` sets FLAG_REF on objects whose refcount is above
one, so the bytes depend on what else in the process references an interned
string.  Every worker loads the same modules at start-up and each item's
objects are dropped (or turned into JSON text) before the next item is
compiled, so the output depends on the source alone, not on batching, order or
the number of workers.
"""

import sys

# Never write __pycache__/ next to this script (the package may be read-only,
# and a pack writes nothing outside its outputs); -B says the same.
sys.dont_write_bytecode = True

if sys.version_info < (3, 8):  # pragma: no cover - answered by the TS side
    sys.stderr.write("pywasm-assets needs Python 3.8 or later\n")
    sys.exit(3)

import json

# The probe (``--probe``) only answers ``info``: it skips loading what
# compiling needs, which is most of its start-up time. Compiling workers load
# all of it at start, always the same set (see Reproducibility above).
_PROBE = sys.argv[1:] == ["--probe"]
if not _PROBE:
    import ast
    import importlib.util
    import marshal
    import warnings

    try:  # Provided by src/python/imports.py (static import scan).
        from imports import find_imports
    except ImportError:  # pragma: no cover
        find_imports = None
else:
    find_imports = None

try:  # importlib.util's MAGIC_NUMBER, without importing importlib.util
    from _frozen_importlib_external import MAGIC_NUMBER as _MAGIC
except ImportError:  # pragma: no cover
    from importlib.util import MAGIC_NUMBER as _MAGIC


def _u32(value):
    return (int(value) & 0xFFFFFFFF).to_bytes(4, "little")


def _read_exact(stream, size):
    data = stream.read(size)
    if data is None or len(data) != size:
        return None
    return data


def _write_message(stream, header_text, payload=b""):
    data = header_text.encode("utf-8")
    stream.write(len(data).to_bytes(4, "big"))
    stream.write(data)
    if payload:
        stream.write(payload)
    stream.flush()


def _info():
    impl = sys.implementation
    try:  # The interpreter's own stdlib, for packing it when no Lib/ is given.
        import sysconfig
        stdlib = sysconfig.get_paths()["stdlib"]
    except Exception:  # noqa: BLE001
        stdlib = None
    return {
        "version": "%d.%d.%d" % sys.version_info[:3],
        "version_info": list(sys.version_info[:3]),
        "magic": int.from_bytes(_MAGIC[:2], "little"),
        "magic_hex": _MAGIC.hex(),
        "implementation": impl.name,
        "cache_tag": impl.cache_tag,
        "executable": sys.executable,
        "stdlib": stdlib,
        "imports": find_imports is not None or _PROBE,
    }


def _error(exc):
    kind = type(exc).__name__
    if isinstance(exc, SyntaxError):
        message = exc.msg or str(exc)
        return {"line": exc.lineno, "offset": exc.offset, "message": message, "kind": kind}
    # ValueError (null bytes, before 3.12), UnicodeDecodeError, RecursionError,
    # MemoryError on absurd nesting...
    return {"line": None, "offset": None, "message": str(exc) or kind, "kind": kind}


def _scan_imports(tree):
    # A bug in the import scanner must not lose the pyc: report it instead.
    try:
        return json.dumps(find_imports(tree), separators=(",", ":"))
    except Exception as exc:  # noqa: BLE001
        return json.dumps([{"error": "%s: %s" % (type(exc).__name__, exc)}])


def _compile_one(source, filename, optimize, invalidation, mtime, scan):
    """Returns (pyc bytes or None, imports JSON text, error dict or None)."""
    imports_json = "[]"
    try:
        with warnings.catch_warnings():
            # SyntaxWarning/DeprecationWarning must not reach stderr (it is
            # read only to explain a crash) and must not change state.
            warnings.simplefilter("ignore")
            if scan:
                tree = compile(source, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
                imports_json = _scan_imports(tree)
                code = compile(tree, filename, "exec", dont_inherit=True, optimize=optimize)
                del tree
            else:
                # About half the CPU time of the AST route (building the Python
                # AST objects is the expensive part): used when no import scan
                # is wanted.
                code = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
    except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError, OverflowError) as exc:
        return None, imports_json, _error(exc)
    if invalidation == "timestamp":
        data = bytearray(_MAGIC)
        data += _u32(0)
        data += _u32(mtime)
        data += _u32(len(source))
    else:
        checked = invalidation == "checked-hash"
        data = bytearray(_MAGIC)
        data += _u32(0b1 | (checked << 1))
        data += importlib.util.source_hash(source)
    data += marshal.dumps(code)
    del code
    return bytes(data), imports_json, None


def _compile_batch(header, payload):
    optimize = int(header.get("optimize", 0))
    invalidation = header.get("invalidation", "unchecked-hash")
    if invalidation not in ("unchecked-hash", "checked-hash", "timestamp"):
        raise ValueError("unknown invalidation mode %r" % (invalidation,))
    mtime = int(header.get("mtime") or 0)
    scan = bool(header.get("imports", True)) and find_imports is not None
    parts = []
    pycs = []
    offset = 0
    for item in header["items"]:
        size = int(item["size"])
        source = payload[offset:offset + size]
        offset += size
        pyc, imports_json, error = _compile_one(source, item["filename"], optimize, invalidation, mtime, scan)
        if pyc is None:
            parts.append('{"ok":false,"pyc_size":0,"imports":%s,"error":%s}'
                         % (imports_json, json.dumps(error)))
        else:
            pycs.append(pyc)
            parts.append('{"ok":true,"pyc_size":%d,"imports":%s,"error":null}'
                         % (len(pyc), imports_json))
        del source, pyc
    if offset != len(payload):
        raise ValueError("payload is %d bytes, items add up to %d" % (len(payload), offset))
    text = '{"id":%s,"results":[%s]}' % (json.dumps(header.get("id")), ",".join(parts))
    return text, b"".join(pycs)


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    # Anything printed by accident goes to stderr, never into the protocol.
    sys.stdout = sys.stderr
    while True:
        head = _read_exact(stdin, 4)
        if head is None:
            return 0  # stdin closed: the pool is done with us
        header = json.loads(_read_exact(stdin, int.from_bytes(head, "big")).decode("utf-8"))
        op = header.get("op")
        if op == "info":
            _write_message(stdout, json.dumps(_info()))
        elif op == "compile" and not _PROBE:
            total = sum(int(item["size"]) for item in header["items"])
            payload = _read_exact(stdin, total) if total else b""
            if payload is None:
                sys.stderr.write("truncated compile request\n")
                return 2
            text, pycs = _compile_batch(header, payload)
            del payload
            _write_message(stdout, text, pycs)
        else:
            sys.stderr.write("unknown op %r\n" % (op,))
            return 2


if __name__ == "__main__":
    sys.exit(main())
