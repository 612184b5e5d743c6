"""Test driver for src/interpreter/python/imports.py (run with the build python).

  python3 find-imports.py --snippets      stdin: JSON list of sources;
                                          stdout: JSON list of record lists
  python3 find-imports.py --scan LIBDIR [--skip-tests]
                                          stdout: JSON {modules, files, seconds}
      modules: [{module, path, isPackage, imports}] for every .py under LIBDIR
      seconds: {parse, find}: time spent in ast.parse and in find_imports
      --skip-tests leaves out the top-level test/ package (two thirds of the files)
"""
import ast
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in src/python
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "interpreter", "python"))
from imports import find_imports  # noqa: E402


def snippets():
    sources = json.load(sys.stdin)
    json.dump([find_imports(ast.parse(src)) for src in sources], sys.stdout)


def scan(lib, skip_tests=False):
    modules = []
    parse_s = find_s = 0.0
    for root, dirs, files in os.walk(lib):
        skip = {"__pycache__", "site-packages"}
        if skip_tests and root == lib:
            skip.add("test")
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            full = os.path.join(root, f)
            rel = os.path.relpath(full, lib).replace(os.sep, "/")
            with open(full, "rb") as fh:
                data = fh.read()
            t0 = time.perf_counter()
            try:
                tree = ast.parse(data, rel)
            except (SyntaxError, ValueError):
                continue  # badsyntax_* test data
            t1 = time.perf_counter()
            imports = find_imports(tree)
            t2 = time.perf_counter()
            parse_s += t1 - t0
            find_s += t2 - t1
            parts = rel[:-3].split("/")
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts.pop()
            modules.append({"module": ".".join(parts), "path": rel,
                            "isPackage": is_pkg, "imports": imports})
    json.dump({"modules": modules, "files": len(modules),
               "seconds": {"parse": parse_s, "find": find_s}}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--snippets"]:
        snippets()
    elif sys.argv[1:2] == ["--scan"] and len(sys.argv) in (3, 4):
        scan(os.path.normpath(sys.argv[2]), sys.argv[3:] == ["--skip-tests"])
    else:
        sys.exit(__doc__)
