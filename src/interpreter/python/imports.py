"""Import facts of one module, read from its AST (no import, no execution).

Used by the build-interpreter worker: ``find_imports(ast.parse(source))``.
Each record is a dict::

    {"name": "urllib.request", "level": 0, "names": ["urlopen"],
     "conditional": False, "line": 12}

``name`` is the module as written (``""`` for ``from . import x``), ``level``
the number of leading dots, ``names`` the imported names of ``from x import
a, b`` (``["*"]`` for a star import, ``[]`` for ``import x``). One record per
alias of ``import a, b``. A literal ``importlib.import_module('x')`` or
``__import__('x')`` that is the whole value of a statement outside function
bodies is recorded too, with ``"dynamic": True``.

A module-level assignment to ``sys.modules['a.b']`` (``sys`` or any name
``import sys as _sys`` bound there) is recorded as ``{"name": "a.b",
"registers": True, ...}``: the module puts ``a.b`` in sys.modules itself, so
an import of it finds it there without a file (``os`` sets ``os.path``; since
3.13 ``collections`` sets ``collections.abc``; ``xml.parsers.expat`` its two
submodules). ``conditional``/``onWasm`` mean the same as for imports.

``conditional`` is False when importing the module runs the statement:
module level, including plain ``if``/``with``/``for``/``try`` bodies and class
bodies (they execute on import). It is True when the statement

- is in a function body (runs only when called);
- is guarded by a ``try`` whose handlers catch ImportError,
  ModuleNotFoundError, Exception, BaseException or everything (the body, the
  ``else`` and the handlers themselves);
- is in any handler of a ``try`` (runs only on an exception);
- is under a platform or capability test: an ``if`` whose test reads
  ``sys.platform``, ``os.name``, ``sys.implementation``, ``sys.version_info``,
  ``platform.system()``, ``hasattr(os|sys, ...)``, or a module-level flag set
  from such a test or inside an import-guarding ``try`` (subprocess's
  ``_mswindows``, ``_can_fork_exec``); both branches are conditional;
- is in the body of ``if __name__ == '__main__'``, ``if TYPE_CHECKING`` or an
  ``if`` that is never true (``if 0:``, or a name bound to a falsy constant:
  ``_false = 0; if _false: import encodings``, codecs' and xml.sax's hints for
  modulefinder); their ``else`` runs on import, so it is not conditional.

A conditional record gets ``"onWasm": True`` when every guard that makes it
conditional is a platform test decided true on all WebAssembly targets
(os.name ``'posix'``, sys.platform ``'emscripten'`` or ``'wasi'``): ``if
os.name == 'posix':``, the ``else`` of ``if sys.platform == 'win32':``, and
flags bound to such tests. It runs on import there.

Only statements are visited (expressions only in ``if`` tests), which keeps
the whole 3.11 stdlib well under a second.
"""

import ast

__all__ = ["find_imports"]

# Exceptions whose handler makes the guarded imports optional.
_GUARD_EXCEPTIONS = frozenset(
    ("ImportError", "ModuleNotFoundError", "Exception", "BaseException")
)
# Attributes of these modules describe the platform (or the interpreter's
# version/implementation): an `if` reading them is a platform test.
_PLATFORM_MODULES = frozenset(("sys", "_sys", "os", "_os", "platform"))
_PLATFORM_ATTRS = frozenset(
    ("platform", "name", "implementation", "version_info", "system",
     "getwindowsversion", "hexversion", "flags", "builtin_module_names")
)
_DYNAMIC_CALLS = frozenset(("import_module", "__import__"))
_CALLEE = (ast.Name, ast.Attribute)

_Import = ast.Import
_ImportFrom = ast.ImportFrom
_Func = (ast.FunctionDef, ast.AsyncFunctionDef)
_Class = ast.ClassDef
_If = ast.If
_Try = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)
_With = (ast.With, ast.AsyncWith)
_Loop = (ast.For, ast.AsyncFor, ast.While)
_Assign = (ast.Assign, ast.AnnAssign, ast.Expr)
_Match = getattr(ast, "Match", None)


def find_imports(tree):
    """Return the import records of a module's AST (see the module doc)."""
    out = []
    _walk(tree.body, False, False, True, False, out, _Flags())
    out.sort(key=_line)  # _collect visits nested bodies out of order
    return out


def _line(record):
    return record["line"]


class _Flags(set):
    """Module-level names that describe the platform (the set), and names
    bound to a falsy constant (``falsy``: ``_false = 0`` before the
    ``if _false: import x`` hints for modulefinder in codecs and xml.sax)."""

    __slots__ = ("falsy", "wasm", "sys")

    def __init__(self):
        super().__init__()
        self.falsy = set()
        self.wasm = {}  # flag name -> its value on WebAssembly, when decided
        self.sys = set()  # module-level names bound to the sys module


def _walk(body, conditional, wasm, top, guarded, out, flags):
    """Visit a statement list.

    conditional: statements here may not run on import.
    wasm: the same, on a WebAssembly target (os.name 'posix', sys.platform
      'emscripten' or 'wasi'), where some platform tests are decided.
    top: module scope (flags are tracked only there).
    guarded: inside a platform test or import-guarding try at module scope;
      names bound here become flags.
    """
    for stmt in body:
        kind = type(stmt)
        if kind is _Import:
            for alias in stmt.names:
                rec = {"name": alias.name, "level": 0, "names": [],
                       "conditional": conditional, "line": stmt.lineno}
                if conditional and not wasm:
                    rec["onWasm"] = True
                out.append(rec)
                if guarded:
                    flags.add(alias.asname or alias.name.partition(".")[0])
                if top and alias.name == "sys":
                    flags.sys.add(alias.asname or "sys")
        elif kind is _ImportFrom:
            rec = {"name": stmt.module or "", "level": stmt.level,
                   "names": [a.name for a in stmt.names],
                   "conditional": conditional, "line": stmt.lineno}
            if conditional and not wasm:
                rec["onWasm"] = True
            out.append(rec)
            if guarded:
                for alias in stmt.names:
                    flags.add(alias.asname or alias.name)
        elif kind in _Func:
            _collect(stmt.body, out)
        elif kind is _Class:
            _walk(stmt.body, conditional, wasm, False, False, out, flags)
        elif kind is _If:
            test = _classify(stmt.test, flags)
            if test == "platform":
                value = _wasm_value(stmt.test, flags)
                _walk(stmt.body, True, wasm if value is True else True,
                      top, top, out, flags)
                _walk(stmt.orelse, True, wasm if value is False else True,
                      top, top, out, flags)
            elif test == "skip-body":
                _walk(stmt.body, True, True, top, False, out, flags)
                _walk(stmt.orelse, conditional, wasm, top, guarded, out, flags)
            else:
                _walk(stmt.body, conditional, wasm, top, guarded, out, flags)
                _walk(stmt.orelse, conditional, wasm, top, guarded, out, flags)
        elif kind in _Try:
            guard = any(_catches_import_error(h.type) for h in stmt.handlers)
            inner = conditional or guard
            winner = wasm or guard
            g = guarded or (top and guard)
            _walk(stmt.body, inner, winner, top, g, out, flags)
            for handler in stmt.handlers:
                _walk(handler.body, True, True, top, g, out, flags)
            _walk(stmt.orelse, inner, winner, top, g, out, flags)
            _walk(stmt.finalbody, conditional, wasm, top, guarded, out, flags)
        elif kind in _Assign:
            value = stmt.value
            if value is not None:
                if type(value) is ast.Call and type(value.func) in _CALLEE:
                    _dynamic(value, conditional, stmt.lineno, out)
                if top and kind is ast.Assign and flags.sys:
                    _registers(stmt, conditional, wasm, flags.sys, out)
                if top and kind is not ast.Expr:
                    platform = _classify(value, flags) == "platform"
                    if guarded or platform:
                        _bind(stmt, flags)
                    _bind_constant(stmt, value, flags, platform and not guarded)
        elif kind in _With:
            _walk(stmt.body, conditional, wasm, top, guarded, out, flags)
        elif kind in _Loop:
            _walk(stmt.body, conditional, wasm, top, guarded, out, flags)
            _walk(stmt.orelse, conditional, wasm, top, guarded, out, flags)
        elif _Match is not None and kind is _Match:
            for case in stmt.cases:
                _walk(case.body, conditional, wasm, top, guarded, out, flags)


# Statement (and handler/case) types that hold statement lists.
_NESTED = {
    ast.FunctionDef: ("body",), ast.AsyncFunctionDef: ("body",),
    ast.ClassDef: ("body",), ast.If: ("body", "orelse"),
    ast.For: ("body", "orelse"), ast.AsyncFor: ("body", "orelse"),
    ast.While: ("body", "orelse"), ast.With: ("body",), ast.AsyncWith: ("body",),
    ast.Try: ("body", "handlers", "orelse", "finalbody"),
    ast.ExceptHandler: ("body",),
}
_IMPORT = ("<import>",)  # sentinels, compared by identity
_IMPORT_FROM = ("<from>",)
_NESTED[ast.Import] = _IMPORT
_NESTED[ast.ImportFrom] = _IMPORT_FROM
if hasattr(ast, "TryStar"):
    _NESTED[ast.TryStar] = _NESTED[ast.Try]
if _Match is not None:
    _NESTED[_Match] = ("cases",)
    _NESTED[ast.match_case] = ("body",)


def _collect(body, out):
    """Record every import under a function body: all are conditional.

    Iterative and free of tests: function bodies are most of the stdlib's
    statements, and nothing in them runs on import.
    """
    stack = [body]
    pop = stack.pop
    push = stack.append
    get = _NESTED.get
    while stack:
        for stmt in pop():
            fields = get(type(stmt))
            if fields is None:
                continue
            if fields is _IMPORT:
                for alias in stmt.names:
                    out.append({"name": alias.name, "level": 0, "names": [],
                                "conditional": True, "line": stmt.lineno})
            elif fields is _IMPORT_FROM:
                out.append({"name": stmt.module or "", "level": stmt.level,
                            "names": [a.name for a in stmt.names],
                            "conditional": True, "line": stmt.lineno})
            else:
                for field in fields:
                    push(getattr(stmt, field))


# What every WebAssembly target of CPython 3.11 reports (Emscripten, WASI).
_WASM_OS_NAME = "posix"
_WASM_PLATFORMS = ("emscripten", "wasi")


def _is_attr(node, attr):
    return (type(node) is ast.Attribute and node.attr == attr
            and type(node.value) is ast.Name and node.value.id in _PLATFORM_MODULES)


def _strings(node):
    """A str constant or a tuple/list/set of them, as a tuple; else None."""
    if type(node) is ast.Constant and type(node.value) is str:
        return (node.value,)
    if type(node) in (ast.Tuple, ast.List, ast.Set):
        if all(type(e) is ast.Constant and type(e.value) is str for e in node.elts):
            return tuple(e.value for e in node.elts)
    return None


def _all_or_none(results):
    """True if every result is true, False if none is, else None (undecided)."""
    results = list(results)
    return True if all(results) else False if not any(results) else None


def _wasm_value(node, flags):
    """The value of a platform test on every WebAssembly target, or None.

    Decides comparisons of os.name and sys.platform with string constants,
    sys.platform.startswith(...), and/or/not of those, and flags bound to them
    (subprocess: `_can_fork_exec = sys.platform not in {"emscripten", "wasi"}`).
    """
    t = type(node)
    if t is ast.Compare and len(node.ops) == 1:
        op = type(node.ops[0])
        right = _strings(node.comparators[0])
        if right is None:
            return None
        if _is_attr(node.left, "name"):
            values = (_WASM_OS_NAME,)
        elif _is_attr(node.left, "platform"):
            values = _WASM_PLATFORMS
        else:
            return None
        if op is ast.Eq and len(right) == 1:
            return _all_or_none(v == right[0] for v in values)
        if op is ast.NotEq and len(right) == 1:
            return _all_or_none(v != right[0] for v in values)
        if op is ast.In:
            return _all_or_none(v in right for v in values)
        if op is ast.NotIn:
            return _all_or_none(v not in right for v in values)
        return None
    if t is ast.Call:
        f = node.func
        if (type(f) is ast.Attribute and f.attr == "startswith"
                and _is_attr(f.value, "platform") and len(node.args) == 1):
            prefixes = _strings(node.args[0])
            if prefixes is not None:
                return _all_or_none(v.startswith(prefixes) for v in _WASM_PLATFORMS)
        return None
    if t is ast.UnaryOp and type(node.op) is ast.Not:
        value = _wasm_value(node.operand, flags)
        return None if value is None else not value
    if t is ast.BoolOp:
        values = [_wasm_value(v, flags) for v in node.values]
        if type(node.op) is ast.And:
            return False if False in values else None if None in values else True
        return True if True in values else None if None in values else False
    if t is ast.Name:
        return flags.wasm.get(node.id)
    return None


def _catches_import_error(node):
    if node is None:  # bare `except:`
        return True
    if type(node) is ast.Tuple:
        return any(_catches_import_error(e) for e in node.elts)
    if type(node) is ast.Name:
        return node.id in _GUARD_EXCEPTIONS
    if type(node) is ast.Attribute:  # builtins.ImportError
        return node.attr in _GUARD_EXCEPTIONS
    return False


def _classify(test, flags):
    """'platform', 'skip-body' (__main__ / TYPE_CHECKING / never true) or None."""
    kind = type(test)
    if kind is ast.Constant and not test.value:  # if 0: / if False:
        return "skip-body"
    if kind is ast.Name and test.id in flags.falsy:
        return "skip-body"
    if kind is ast.Name and test.id == "TYPE_CHECKING":
        return "skip-body"
    if kind is ast.Attribute and test.attr == "TYPE_CHECKING":
        return "skip-body"
    if kind is ast.Compare and len(test.ops) == 1:
        sides = (test.left, test.comparators[0])
        if (any(type(s) is ast.Name and s.id == "__name__" for s in sides)
                and any(type(s) is ast.Constant and s.value == "__main__"
                        for s in sides)):
            return "skip-body"
    return "platform" if _platform(test, flags) else None


def _platform(node, flags):
    """Does the expression read the platform (or a flag derived from it)?

    A hand-written walk over the node types a test is made of: ast.walk over
    every module-level value would cost more than the rest of the scan.
    """
    t = type(node)
    if t is ast.Attribute:
        value = node.value
        if type(value) is ast.Name:
            return ((node.attr in _PLATFORM_ATTRS and value.id in _PLATFORM_MODULES)
                    or value.id in flags)
        return _platform(value, flags)  # sys.platform.startswith
    if t is ast.Name:
        return node.id in flags
    if t is ast.Compare:
        return (_platform(node.left, flags)
                or any(_platform(c, flags) for c in node.comparators))
    if t is ast.BoolOp:
        return any(_platform(v, flags) for v in node.values)
    if t is ast.UnaryOp:
        return _platform(node.operand, flags)
    if t is ast.Subscript:  # sys.platform[:4] == "java"
        return _platform(node.value, flags)
    if t is ast.Call:
        f = node.func
        args = node.args
        if (type(f) is ast.Name and f.id == "hasattr" and args
                and type(args[0]) is ast.Name and args[0].id in _PLATFORM_MODULES):
            return True
        return _platform(f, flags) or any(_platform(a, flags) for a in args)
    return False


def _bind_constant(stmt, value, flags, platform):
    """Track `name = <falsy constant>` and `name = <platform test decided on WASM>`."""
    if _single_name_target(stmt):
        name = stmt.targets[0].id if type(stmt) is ast.Assign else stmt.target.id
        if type(value) is ast.Constant and not value.value:
            flags.falsy.add(name)
        else:
            flags.falsy.discard(name)
        decided = _wasm_value(value, flags) if platform else None
        if decided is None:
            flags.wasm.pop(name, None)
        else:
            flags.wasm[name] = decided


def _single_name_target(stmt):
    if type(stmt) is ast.Assign:
        return len(stmt.targets) == 1 and type(stmt.targets[0]) is ast.Name
    return type(stmt.target) is ast.Name


def _bind(stmt, flags):
    targets = stmt.targets if type(stmt) is ast.Assign else [stmt.target]
    for target in targets:
        for node in ast.walk(target):
            if type(node) is ast.Name:
                flags.add(node.id)


def _registers(stmt, conditional, wasm, sys_names, out):
    """Record each target ``<sys>.modules['a.b']`` of an assignment."""
    for target in stmt.targets:
        if type(target) is not ast.Subscript:
            continue
        seq = target.value
        key = target.slice
        if type(key).__name__ == "Index":  # Python 3.8
            key = key.value
        if (type(seq) is ast.Attribute and seq.attr == "modules"
                and type(seq.value) is ast.Name and seq.value.id in sys_names
                and type(key) is ast.Constant and type(key.value) is str
                and key.value):
            rec = {"name": key.value, "level": 0, "names": [],
                   "conditional": conditional, "line": stmt.lineno,
                   "registers": True}
            if conditional and not wasm:
                rec["onWasm"] = True
            out.append(rec)


def _dynamic(call, conditional, line, out):
    f = call.func
    name = f.attr if type(f) is ast.Attribute else getattr(f, "id", None)
    if name not in _DYNAMIC_CALLS or not call.args:
        return
    arg = call.args[0]
    if (type(arg) is ast.Constant and type(arg.value) is str and arg.value
            and not arg.value.startswith(".")):  # relative: needs `package`
        out.append({"name": arg.value, "level": 0, "names": [],
                    "conditional": conditional, "line": line, "dynamic": True})
