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
one (and always on interned strings), so the bytes follow the object graph:
which constants are one shared object, which strings are interned. Each
item's objects are dropped (or turned into JSON text) before the next item is
compiled. But the graph also depends on the strings the process had interned
before the compile, because a code object interns some of its strings in
place and takes an already interned equal string instead when there is one.
Measured over each version's whole Lib/ with its tests, compiling once in a
fresh process and again after importing the whole stdlib gives different
bytes for 3 modules on 3.11 (ftplib: FTP.abort and FTP_TLS.abort share the
frozenset ``{'426', '225', '226'}`` only when those strings were not interned
yet), 4 on 3.12 and 12 on 3.13 (also: a class body's ``__qualname__``
constant is the class code's interned co_qualname only when no equal string
was interned before). On 3.12, where interned strings are immortal, even the
second compile of ftplib in one process differs from the first, and an
identifier ``ä`` interns the one-character string singleton for good. So the
output would depend on what the worker had imported or compiled before, and
on the host: Pyodide imports ~180 modules at start-up, a native worker ~40.
Hence:

- ``setup()`` interns the one-character latin-1 strings (singletons) that a
  compile could intern: identifier characters and digits;
- ``_compile_code`` compiles a source whose code could differ (see
  ``_interning_sensitive``: a frozenset constant referenced twice, or on 3.13+
  a shared interned non-name-like qualname constant) a second time while the
  first code object is alive, so that every string the compile interns is
  already interned, whatever the process did before; the second code object is
  the answer. (Unchecked versions, 3.15+, always compile twice.)

Checked over the whole Lib/ of 3.11.2 (Debian's and the source tree's),
3.12.1 and 3.13.0 natively, and 3.11.3, 3.12.7, 3.13.2 and 3.14.2 in Pyodide:
compiled in order, in reverse order and after importing every stdlib module,
each module gives the same bytes.
"""

import sys

# Never write __pycache__/ next to this script (the package may be read-only,
# and a pack writes nothing outside its outputs); -B says the same.
sys.dont_write_bytecode = True

if sys.version_info < (3, 8):  # pragma: no cover - answered by the TS side
    sys.stderr.write("pywasm-assets needs Python 3.8 or later\n")
    sys.exit(3)

import json

# Loaded by setup(): a probe skips them (see Reproducibility above).
ast = importlib = marshal = warnings = None
find_imports = None
_PROBE = False


def setup(probe=False):
    """Loads what compiling needs, always the same set (see Reproducibility).

    A probe (``--probe``) only answers ``info``: it skips this, which is most
    of its start-up time. The pipe loop calls it from ``main()``; a host that
    runs this module inside another runtime (src/pyodide-host.ts: Pyodide in
    Node) imports it and calls it, then ``respond()``.
    """
    global _PROBE, ast, importlib, marshal, warnings, find_imports
    _PROBE = probe
    if probe:
        return
    import ast
    import importlib.util
    import marshal
    import warnings

    try:  # Provided by src/python/imports.py (static import scan).
        from imports import find_imports
    except ImportError:  # pragma: no cover
        find_imports = None
    # One-character latin-1 strings are process-wide singletons, and whether
    # each is interned is process state that a compile can change: on 3.11
    # and 3.12 the identifier ``ä`` (test_unicode_identifiers) interns the
    # singleton for good, and every later "ä" constant is then written as an
    # interned string. A compile interns identifiers and name-like constants
    # only, so those are interned now, in every host; the others (",", "/")
    # stay as the interpreter has them, which leaves the pycs as compile()
    # makes them. (3.13+ starts with all 256 interned.)
    for i in range(256):
        char = chr(i)
        if char.isidentifier() or _name_like(char):
            sys.intern(char)


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


def _debug_ranges():
    """Whether this interpreter's compiler writes column ranges (PEP 657) into code
    objects: not under ``-X no_debug_ranges`` (3.11+; earlier versions write none)."""
    positions = getattr(compile("x", "", "eval"), "co_positions", None)
    return positions is not None and any(p[2] is not None for p in positions())


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
        "debug_ranges": _debug_ranges(),
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


def _name_like(text):
    # CPython's all_name_chars() (Objects/codeobject.c): the string constants a
    # code object interns are ASCII letters, digits and "_" only.
    return text.isascii() and (text == "" or text.replace("_", "a").isalnum())


# sys._is_interned exists from 3.13, the first version that interns co_qualname.
_is_interned = getattr(sys, "_is_interned", None)
# Versions whose compiler was checked (see Reproducibility): later ones always
# compile twice.
_CHECKED = sys.version_info < (3, 15)


def _interning_sensitive(code):
    """Could code's bytes change if more of its strings were already interned?

    True when the code tree holds (a) a frozenset constant with str, tuple or
    frozenset items that is referenced more than once: a code object's
    creation rebuilds such a frozenset when interning replaces one of its
    strings, so it stops being shared; (b) on 3.13+, an interned str constant
    that is not name-like and is also a code object's co_qualname, co_name or
    co_filename (a class body's ``__qualname__``): the code object interns its
    own slot, so the constant is the same object only if no equal string was
    interned before. Loops only: no closure may keep a reference (a
    refcount) to anything in the tree after the call.
    """
    codes = [code]
    code_type = type(code)
    i = 0
    while i < len(codes):
        for const in codes[i].co_consts:
            if type(const) is code_type:
                codes.append(const)
        i += 1
    named = set()
    if _is_interned is not None:
        for co in codes:
            named.add(id(co.co_qualname))
            named.add(id(co.co_name))
            named.add(id(co.co_filename))
    frozensets = set()
    stack = []
    found = False
    for co in codes:
        stack.extend(co.co_consts)
        while stack:
            obj = stack.pop()
            kind = type(obj)
            if kind is tuple:
                stack.extend(obj)
            elif kind is frozenset:
                if id(obj) in frozensets:
                    for item in obj:
                        if type(item) in (str, tuple, frozenset):
                            found = True
                            break
                frozensets.add(id(obj))
                stack.extend(obj)
            elif kind is str and id(obj) in named and _is_interned(obj) and not _name_like(obj):
                found = True
            if found:
                break
        if found:
            break
    return found


def _compile_code(source, filename, optimize):
    """compile(), made independent of what else the process has interned.

    See Reproducibility in the module docstring: when the first code object
    could differ from one compiled where all its strings are already interned,
    it is kept alive (so they are) and the source is compiled again; the
    second one is the answer.
    """
    code = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
    if not _CHECKED or _interning_sensitive(code):
        first = code
        code = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
        del first
    return code


def _compile_one(source, filename, optimize, invalidation, mtime, scan):
    """Returns (pyc bytes or None, imports JSON text, error dict or None)."""
    imports_json = "[]"
    try:
        with warnings.catch_warnings():
            # SyntaxWarning/DeprecationWarning must not reach stderr (it is
            # read only to explain a crash) and must not change state.
            warnings.simplefilter("ignore")
            if scan:
                # The AST is only read: the code is compiled from the source
                # like any other (the AST's strings would be shared by both
                # compiles of _compile_code). Building the Python AST objects
                # costs about as much as compiling: used only when the import
                # scan in Node declined a source.
                tree = compile(source, filename, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
                imports_json = _scan_imports(tree)
                del tree
            code = _compile_code(source, filename, optimize)
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


def payload_size(header):
    """Bytes of payload that follow a request's header (a compile's sources)."""
    if header.get("op") == "compile":
        return sum(int(item["size"]) for item in header["items"])
    return 0


def respond(header, payload=b""):
    """Answers one request: ``(JSON header text, payload bytes)``.

    The pipe loop below and src/pyodide-host.ts both call it, so the answer
    does not depend on the host. Raises ValueError on a request it cannot
    answer (an unknown op, a compile in a probe, a payload of the wrong size).
    """
    op = header.get("op")
    if op == "info":
        return json.dumps(_info()), b""
    if op == "compile" and not _PROBE:
        return _compile_batch(header, payload)
    raise ValueError("unknown op %r" % (op,))


def main():
    setup(sys.argv[1:] == ["--probe"])
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    # Anything printed by accident goes to stderr, never into the protocol.
    sys.stdout = sys.stderr
    while True:
        head = _read_exact(stdin, 4)
        if head is None:
            return 0  # stdin closed: the pool is done with us
        header = json.loads(_read_exact(stdin, int.from_bytes(head, "big")).decode("utf-8"))
        total = payload_size(header)
        payload = _read_exact(stdin, total) if total else b""
        if payload is None:
            sys.stderr.write("truncated request\n")
            return 2
        try:
            text, answer = respond(header, payload)
        except ValueError as exc:
            sys.stderr.write("%s\n" % (exc,))
            return 2
        del payload
        _write_message(stdout, text, answer)
        del answer


if __name__ == "__main__":
    sys.exit(main())
