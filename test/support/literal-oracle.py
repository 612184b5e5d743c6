"""What CPython says about a sysconfigdata module's bytes, for test/pyliteral.test.ts.

Never runs the source: ast.parse (CPython's own tokenizer and parser, the same
path compile() and the import system take for a module's bytes) and a walk of
the tree.

Answers, one per source:
  {"result": "error", "error": "SyntaxError: ..."}   ast.parse refuses it
  {"result": "code", "why": "..."}                    it parses, but is not a plain literal
  {"result": "literal", "entries": [[key, value], ...]}
    the module is exactly one Assign to the Name NAME of a Dict whose keys are
    str constants and whose values are str or int constants (or - and an int,
    which sysconfig writes for a negative value). entries are the dict's
    items in order, last duplicate winning (what sysconfig would see); an int
    is {"int": "<decimal>"} so big ints and str/int stay apart in JSON.

Usage:
  python3 literal-oracle.py [--name NAME] < sources.json   (a JSON list of base64 sources; prints a JSON list)
  python3 literal-oracle.py [--name NAME] FILE...          (prints one JSON answer per line)
"""

import ast
import base64
import json
import sys
import warnings


def _value(node):
    if isinstance(node, ast.Constant) and type(node.value) in (str, int):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    raise ValueError(f"value {ast.dump(node)[:80]} is not a str or int constant")


def _json_value(value):
    return {"int": str(value)} if type(value) is int else value


def answer(source, name="build_time_vars"):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes: SyntaxWarning/DeprecationWarning
            tree = ast.parse(source)
    except Exception as exc:  # SyntaxError, ValueError (null bytes), RecursionError, MemoryError...
        return {"result": "error", "error": f"{type(exc).__name__}: {exc}"}
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], ast.Assign):
        return {"result": "code", "why": f"{len(body)} statements, first {type(body[0]).__name__ if body else None}"}
    stmt = body[0]
    if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name) or stmt.targets[0].id != name:
        return {"result": "code", "why": "not one assignment to " + name}
    if not isinstance(stmt.value, ast.Dict):
        return {"result": "code", "why": f"assigns a {type(stmt.value).__name__}"}
    vars = {}
    for key, value in zip(stmt.value.keys, stmt.value.values):
        if not (isinstance(key, ast.Constant) and type(key.value) is str):
            return {"result": "code", "why": "a key that is not a str constant"}
        try:
            vars[key.value] = _value(value)
        except ValueError as exc:
            return {"result": "code", "why": str(exc)}
    return {"result": "literal", "entries": [[k, _json_value(v)] for k, v in vars.items()]}


def main(argv):
    name = "build_time_vars"
    if argv[:1] == ["--name"]:
        name, argv = argv[1], argv[2:]
    if argv:
        for path in argv:
            with open(path, "rb") as f:
                print(json.dumps(answer(f.read(), name)))
        return
    sources = json.load(sys.stdin)
    json.dump([answer(base64.b64decode(s), name) for s in sources], sys.stdout)


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main(sys.argv[1:])
