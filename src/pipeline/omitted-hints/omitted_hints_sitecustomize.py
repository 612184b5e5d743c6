# pywasm-assets --omitted-hints: explain imports of modules this bundle omitted
# (see _pywasm_assets_hints). CPython's `site` imports sitecustomize at startup.
# Opt out: run without `site` (`python -S`), or set PYWASM_ASSETS_HINTS=0.
# An application with its own sitecustomize earlier on sys.path shadows this
# file; it can activate the hints itself with `import _pywasm_assets_hints`.
import os as _os

if _os.environ.get('PYWASM_ASSETS_HINTS', '1') != '0':
    import _pywasm_assets_hints
del _os
