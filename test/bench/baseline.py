"""Baseline for `npm run bench`: what a plain single-process Python does.

    python3 baseline.py <lib dir> <file list .json> <out.zip>

Compiles each listed module (paths relative to <lib dir>) the way
``py_compile`` does (``compile()`` from the source bytes, a timestamp pyc with
``importlib``'s header), and writes them to a level-9 DEFLATE zip with
``zipfile``, in one process, one file after the other, like CPython's
Tools/wasm/wasm_assets.py does (minus its __pycache__ side effects). Prints
one JSON line: {"ms": ..., "files": ..., "zip_bytes": ..., "failed": ...}.
"""
import importlib.util
import json
import marshal
import os
import sys
import time
import zipfile

start = time.perf_counter()


def pyc_of(source, path, mtime):
    code = compile(source, path, "exec", dont_inherit=True)
    data = bytearray(importlib.util.MAGIC_NUMBER)
    data += (0).to_bytes(4, "little")
    data += (int(mtime) & 0xFFFFFFFF).to_bytes(4, "little")
    data += (len(source) & 0xFFFFFFFF).to_bytes(4, "little")
    data += marshal.dumps(code)
    return bytes(data)


def main():
    lib, listing, out = sys.argv[1:4]
    with open(listing) as f:
        paths = json.load(f)
    failed = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for rel in paths:
            full = os.path.join(lib, rel)
            with open(full, "rb") as f:
                source = f.read()
            try:
                pyc = pyc_of(source, full, os.stat(full).st_mtime)
            except (SyntaxError, ValueError):
                failed += 1
                zf.writestr(rel, source)
                continue
            zf.writestr(rel[:-3] + ".pyc", pyc)
    ms = (time.perf_counter() - start) * 1000
    print(json.dumps({"ms": round(ms, 1), "files": len(paths), "zip_bytes": os.path.getsize(out), "failed": failed}))


main()
