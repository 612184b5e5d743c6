"""Writes a build-root fixture from a Pyodide release's sysconfigdata.

Pyodide >= 0.26 ships its CPython build's ``_sysconfigdata__emscripten_wasm32-emscripten.py``
(in the npm package's ``python_stdlib.zip``) not as the plain literal CPython generates but as
a module: ``import os``, ``PYODIDE_ROOT = os.environ.get("PYODIDE_ROOT", "/root/repo")``,
values that are f-strings over PYODIDE_ROOT, and, after the dict, a patch of
``installed_base``/``platbase`` when ``PYODIDE == "1"``. pywasm-assets parses a
sysconfigdata as a literal and rightly refuses that file. This test-support script (not
pywasm-assets) does execute it, once, with PYODIDE_ROOT fixed to the file's own default
``/root/repo`` (the path of Pyodide's build machine, which is also what the file yields where
PYODIDE_ROOT is unset) and PYODIDE unset (a build root's file has no installed_base/platbase),
and writes what CPython's own build would have written for that build:

  <out>/build/lib.<platform>-<X.Y>/_sysconfigdata_<abiflags>_<machdep>_<multiarch>.py
      the dict as CPython 3.13's Lib/sysconfig/__main__.py writes it (_print_config_dict):
      a comment line, ``build_time_vars = {``, one ``    'key': value,`` line per key in sorted
      order, ``}``; every value str or int, checked;
  <out>/pybuilddir.txt
      ``build/lib.<platform>-<X.Y>`` without a newline (sysconfig writes it that way), where
      <platform> is configure's _PYTHON_HOST_PLATFORM, ``$MACHDEP-$host_cpu``;
  <out>/Makefile
      the lines of the build's Makefile that wasm_assets.py and pywasm-assets read, plus their
      neighbours, rebuilt from the source tree's Makefile.pre.in with configure's @VAR@ and
      makesetup's _MODBUILT_NAMES_ & co. replaced by the values the sysconfigdata records
      (sysconfig copies every Makefile variable into it, expanded); PYTHON_FOR_BUILD keeps
      that expanded value. _PYTHON_HOST_PLATFORM is not in the dict (sysconfig skips names
      that start with "_") and is computed as configure does.

Usage (from the repository root; any python3 >= 3.8):
  python3 test/support/make-build-fixture.py --pyodide node_modules/pyodide-0.29 \\
      --srcdir .cache/cpython-3.13.15 test/fixtures/builds/emscripten-3.13
"""

import argparse
import os
import pathlib
import re
import sys
import zipfile

PYODIDE_ROOT = "/root/repo"

# Makefile.pre.in variables copied into the fixture, in the file's order.
MAKEFILE_VARS = (
    "MODBUILT_NAMES MODSHARED_NAMES MODDISABLED_NAMES MODOBJS MODLIBS VERSION srcdir VPATH "
    "abs_srcdir abs_builddir CC ABIFLAGS MACHDEP MULTIARCH prefix exec_prefix PLATLIBDIR "
    "SCRIPTDIR LIBDEST EXE BUILDEXE WASM_ASSETS_DIR WASM_STDLIB PYTHON BUILDPYTHON HOSTRUNNER "
    "PYTHON_FOR_REGEN UPDATE_FILE PYTHON_FOR_BUILD PYTHON_FOR_BUILD_DEPS _PYTHON_HOST_PLATFORM "
    "BUILD_GNU_TYPE HOST_GNU_TYPE TEST_MODULES"
).split()

# configure substitutions whose sysconfigdata key differs from the @NAME@.
CONFIGURE_KEYS = {"EXEEXT": "EXE", "BUILDEXEEXT": "BUILDEXE", "build": "BUILD_GNU_TYPE", "host": "HOST_GNU_TYPE"}


def load_pyodide_sysconfigdata(package):
    """(file name, build_time_vars) of the sysconfigdata in <package>/python_stdlib.zip."""
    with zipfile.ZipFile(package / "python_stdlib.zip") as zf:
        names = [n for n in zf.namelist() if re.fullmatch(r"_sysconfigdata_[^/]*\.py", n)]
        if len(names) != 1:
            sys.exit(f"make-build-fixture: expected one _sysconfigdata_*.py at the root of the zip, got {names}")
        source = zf.read(names[0]).decode("utf-8")
    saved = {k: os.environ.get(k) for k in ("PYODIDE_ROOT", "PYODIDE")}
    os.environ["PYODIDE_ROOT"] = PYODIDE_ROOT
    os.environ.pop("PYODIDE", None)
    try:
        namespace = {}
        exec(compile(source, names[0], "exec"), namespace)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    data = namespace["build_time_vars"]
    bad = {k: type(v).__name__ for k, v in data.items() if not isinstance(k, str) or type(v) not in (str, int)}
    if bad:
        sys.exit(f"make-build-fixture: values that are neither str nor int: {bad}")
    return names[0], data


def write_sysconfigdata(path, data):
    # Lib/sysconfig/__main__.py (3.13): _generate_posix_vars + _print_config_dict.
    lines = ["# system configuration generated and used by the sysconfig module\n", "build_time_vars = {\n"]
    lines += [f"    {k!r}: {v!r},\n" for k, v in sorted(data.items())]
    lines.append("}\n")
    path.write_text("".join(lines), encoding="utf-8")


def makefile_lines(template, data, host_platform):
    """The MAKEFILE_VARS lines of Makefile.pre.in, substituted as configure + makesetup would."""
    out = {}
    for line in template.splitlines():
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(\s*\??=)(.*)$", line)
        if not m or m.group(1) not in MAKEFILE_VARS or m.group(1) in out:
            continue
        name, op, value = m.groups()
        if re.fullmatch(r"\s*_" + name + r"_\s*", value):  # makesetup: _MODBUILT_NAMES_ & co.
            value = " " * (len(value) - len(value.lstrip())) + str(data[name])
        elif name == "_PYTHON_HOST_PLATFORM":
            value = host_platform
        elif name == "PYTHON_FOR_BUILD":  # configure.ac builds it from several parts; keep the recorded value
            value = str(data[name])
        else:
            def subst(m):
                key = CONFIGURE_KEYS.get(m.group(1), m.group(1))
                if key not in data:
                    sys.exit(f"make-build-fixture: @{m.group(1)}@ ({name}=) is not in the sysconfigdata")
                return str(data[key])

            value = re.sub(r"@([A-Za-z_][A-Za-z0-9_]*)@", subst, value)
        out[name] = f"{name}{op}{value}".rstrip()
    missing = [n for n in MAKEFILE_VARS if n not in out]
    if missing:
        sys.exit(f"make-build-fixture: Makefile.pre.in has no line for {missing}")
    return [out[n] for n in MAKEFILE_VARS]


def wasm_stdlib_rule(template):
    m = re.search(r"^\.PHONY: wasm_stdlib\n(?:.+\n)+", template, re.M)
    if not m:
        sys.exit("make-build-fixture: no wasm_stdlib rule in Makefile.pre.in")
    return m.group(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyodide", type=pathlib.Path, required=True, help="the pyodide npm package directory")
    parser.add_argument(
        "--srcdir", type=pathlib.Path,
        help="the CPython source tree of the same X.Y; without it (no 3.12 or 3.14 tree is reachable) the "
        "Makefile lines are the sysconfigdata's recorded, already expanded values, without the wasm_stdlib rule",
    )
    parser.add_argument("out", type=pathlib.Path, help="the fixture directory to (re)write")
    args = parser.parse_args()

    pyodide_version = __import__("json").loads((args.pyodide / "package.json").read_text())["version"]
    name, data = load_pyodide_sysconfigdata(args.pyodide)
    expected = f"_sysconfigdata_{data['ABIFLAGS']}_{data['MACHDEP']}_{data['MULTIARCH']}.py"
    if name != expected:
        sys.exit(f"make-build-fixture: {name} is not named after its own ABIFLAGS/MACHDEP/MULTIARCH ({expected})")
    host_cpu = data["HOST_GNU_TYPE"].split("-")[0]
    host_platform = f"{data['MACHDEP']}-{host_cpu}"  # configure.ac: $MACHDEP-$host_cpu for wasm32-*
    pybuilddir = f"build/lib.{host_platform}-{data['VERSION']}"

    header = [
        "# Generated automatically from Makefile.pre by makesetup.",
        "# Top-level Makefile for Python",
        "#",
        f"# FIXTURE: the lines of Pyodide {pyodide_version}'s CPython {data['VERSION']} build Makefile that",
        "# matter (see ../README.txt), rebuilt by test/support/make-build-fixture.py from",
    ]
    if args.srcdir:
        template = (args.srcdir / "Makefile.pre.in").read_text(encoding="utf-8")
        makefile = [
            *header,
            f"# {args.srcdir.name}/Makefile.pre.in and the values its sysconfigdata records",
            f"# (PYODIDE_ROOT={PYODIDE_ROOT}).",
            "",
            *makefile_lines(template, data, host_platform),
            "",
            wasm_stdlib_rule(template).rstrip("\n"),
        ]
    else:
        recorded = [f"{n}= {data[n]}".rstrip() for n in MAKEFILE_VARS if n in data]
        makefile = [
            *header,
            f"# the values its sysconfigdata records, already expanded (PYODIDE_ROOT={PYODIDE_ROOT});",
            "# no source tree of this version was at hand.",
            "",
            *recorded,
            f"_PYTHON_HOST_PLATFORM= {host_platform}",
        ]

    out = args.out
    target = out / pybuilddir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    write_sysconfigdata(target, data)
    (out / "pybuilddir.txt").write_text(pybuilddir, encoding="utf-8")
    (out / "Makefile").write_text("\n".join(makefile) + "\n", encoding="utf-8")
    states = sum(1 for k in data if k.startswith("MODULE_") and k.endswith("_STATE"))
    print(f"wrote {out}: {len(data)} build variables ({states} MODULE_*_STATE), pybuilddir {pybuilddir}")


if __name__ == "__main__":
    main()
