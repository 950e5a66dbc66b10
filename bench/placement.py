"""Compile-time placement (AG106, AG107) against real CPythons: which small programs each interpreter's
`compile()` rejects, and whether `awaitguard scan` reports exactly those every version rejects for a reason
AG106/AG107 name (and none that only some versions reject). Python stdlib only.

    python bench/placement.py --python /root/.pyenv/versions/3.10.13/bin/python \\
        --python /root/.pyenv/versions/3.13.0/bin/python [--awaitguard PATH]

Exits 1 when a program is reported that not every version rejects, or one every version rejects for those
reasons is not reported at the compiler's line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# name -> program; `ast.parse` accepts every one of them
PROGRAMS = {
    "afor_def": "def f(y):\n    async for x in y:\n        pass\n",
    "awith_def": "def f(y):\n    async with y:\n        pass\n",
    "afor_mod": "async for x in y:\n    pass\n",
    "awith_mod": "async with y:\n    pass\n",
    "afor_class": "class C:\n    async for x in y:\n        pass\n",
    "afor_in_nested_def_in_async": "async def g():\n    def f(y):\n        async for x in y:\n            pass\n",
    "afor_class_in_async": "async def g():\n    class C:\n        async for x in y:\n            pass\n",
    "alist_def": "def f(y):\n    return [x async for x in y]\n",
    "aset_def": "def f(y):\n    return {x async for x in y}\n",
    "adict_def": "def f(y):\n    return {x: 1 async for x in y}\n",
    "alist_await_def": "def f(y):\n    return [await x for x in y]\n",
    "alist_mod": "[x async for x in y]\n",
    "alist_lambda": "f = lambda y: [x async for x in y]\n",
    "alist_class": "class C:\n    z = [x async for x in y]\n",
    "alist_class_in_async": "async def g():\n    class C:\n        z = [x async for x in y]\n",
    "agen_def": "def f(y):\n    return (x async for x in y)\n",
    "agen_await_def": "def f(y):\n    return (await x for x in y)\n",
    "agen_mod": "g = (x async for x in y)\n",
    "agen_await_mod": "g = (await x for x in y)\n",
    "agen_lambda": "f = lambda y: (x async for x in y)\n",
    "agen_await_lambda": "f = lambda y: (await x for x in y)\n",
    "agen_class": "class C:\n    g = (x async for x in y)\n",
    "agen_first_iter_await_def": "def f(y):\n    return (x for x in await y)\n",
    "agen_first_iter_await_async": "async def f(y):\n    return (x for x in await y)\n",
    "agen_second_iter_await_def": "def f(y):\n    return (x for z in y for x in await z)\n",
    "agen_cond_await_def": "def f(y):\n    return (x for x in y if await x)\n",
    "list_in_agen_def": "def f(y):\n    return ([z async for z in x] async for x in y)\n",
    "list_in_genexp_def": "def f(y):\n    return ([z async for z in x] for x in y)\n",
    "list_await_in_genexp_def": "def f(y):\n    return ([await z for z in x] for x in y)\n",
    "list_in_agen_await_def": "def f(y):\n    return ([await z for z in x] async for x in y)\n",
    "list_in_list_async_def": "async def f(y):\n    return [[z async for z in x] for x in y]\n",
    "list_in_list_def": "def f(y):\n    return [[z async for z in x] for x in y]\n",
    "list_in_alist_def": "def f(y):\n    return [[z async for z in x] async for x in y]\n",
    "agen_in_list_def": "def f(y):\n    return [(z async for z in x) for x in y]\n",
    "list_in_agen_mod": "g = ([z async for z in x] async for x in y)\n",
    "genexp_in_genexp_def": "def f(y):\n    return ((z async for z in x) for x in y)\n",
    "alist_first_iter_in_genexp": "def f(y):\n    return (x for x in [z async for z in y])\n",
    "alist_first_iter_in_async_genexp": "def f(y):\n    return (x async for x in [z async for z in y])\n",
    "alist_in_async_def_in_genexp_lambda": "async def f(y):\n    return lambda: [z async for z in y]\n",
    "await_in_lambda_in_async": "async def f(y):\n    return lambda: await y\n",
    "alist_await_first_iter_def": "def f(y):\n    return [x for x in await y]\n",
    "alist_first_iter_async_def": "async def f(y):\n    return [x for x in await y]\n",
    "yield_from_async": "async def f(y):\n    yield from y\n",
    "return_val_asyncgen": "async def f(y):\n    yield 1\n    return 2\n",
    "return_none_asyncgen": "async def f(y):\n    yield 1\n    return None\n",
    "return_bare_asyncgen": "async def f(y):\n    yield 1\n    return\n",
    "return_val_asyncgen_nested_def": "async def f(y):\n    def g():\n        return 2\n    yield 1\n",
    "yield_in_async_genexp_in_async": "async def f(y):\n    return [(yield) for x in y]\n",
    "await_in_genexp_async_def": "async def f(y):\n    return (await x for x in y)\n",
    "top_await_mod": "await x\n",
    "await_class_in_async": "async def f():\n    class C:\n        z = await x\n",
    "afor_in_genexp_in_async_def_in_def": "def f():\n    async def g():\n        async for x in y: pass\n",
    "yield_from_async_nested_def": "async def f():\n    def g():\n        yield from y\n",
    "await_default_arg_def": "async def g():\n    def f(a=await x): pass\n",
    "await_decorator": "async def g():\n    @await x\n    def f(): pass\n",
    "await_in_annotation": "async def g():\n    def f(a: await x): pass\n",
    "alist_in_dict_key": "def f(y):\n    return {k: [z async for z in y] for k in y}\n",
    "agen_await_in_genexp_elt_nested_lambda": "def f(y):\n    return (lambda: await x for x in y)\n",
    "await_lambda_mod": "f = lambda: await x\n",
    "await_lambda_def": "def g():\n    f = lambda: await x\n",
    "await_comp_def": "def g():\n    return [await x for x in y]\n",
    "await_comp_mod": "[await x for x in y]\n",
    "await_comp_class": "class C:\n    z = [await x for x in y]\n",
    "await_class_mod": "class C:\n    z = await x\n",
    "await_class_def": "def f():\n    class C:\n        z = await x\n",
    "await_dictcomp_def": "def g():\n    return {await x: 1 for x in y}\n",
    "await_comp_lambda": "f = lambda: [await x for x in y]\n",
    "afor_lambda": "f = lambda: [x async for x in y]\n",
    "await_comp_first_iter_def": "def g():\n    return [x for x in await y]\n",
    "await_comp_first_iter_lambda": "f = lambda: [x for x in await y]\n",
    "afor_async_class": "async def f():\n    class C:\n        async with x: pass\n",
    "await_in_default_of_lambda_in_def": "def f():\n    g = lambda v=await x: v\n",
    "await_in_default_of_lambda_in_async": "async def f():\n    g = lambda v=await x: v\n",
    "afor_comp_in_default_of_lambda_in_async": "async def f():\n    g = lambda v=[a async for a in x]: v\n",
    "await_in_fstring_def": "def f():\n    return f'{await x}'\n",
    "walrus_await_comp": "def f():\n    return [y := await x for x in z]\n",
    "afor_else_def": "def f():\n    for a in b:\n        pass\n    else:\n        async for c in d: pass\n",
    "await_in_async_genexp_nested_list_3_11": "def f(y):\n    return ((await z for z in x) for x in y)\n",
    "asyncgen_return_value_nested": "async def f():\n    yield 1\n    if x:\n        return 1\n",
    "asyncgen_return_in_genexp": "async def f():\n    return (x for x in y)\n",
    "asyncgen_await_genexp_return": "async def f():\n    (yield)\n    return\n",
    "yield_from_in_lambda_in_async": "async def f():\n    g = lambda: (yield from x)\n",
    "yield_from_in_comp_in_async": "async def f():\n    return [(yield from x) for a in b]\n",
    "yield_from_in_class_in_async": "async def f():\n    class C:\n        yield from x\n",
    "yield_in_async_and_return_in_nested": "async def f():\n    yield 1\n    def g():\n        return 3\n",
    "return_then_yield_in_lambda": "async def f():\n    g = lambda: (yield)\n    return 1\n",
    "mod_alist_in_alist": "[[z async for z in x] async for x in y]\n",
    "lambda_in_async_alist": "async def f(y):\n    return lambda: [z async for z in y]\n",
    "lambda_in_async_agen": "async def f(y):\n    return lambda: (z async for z in y)\n",
    "class_in_async_agen": "async def f(y):\n    class C:\n        g = (z async for z in y)\n",
    "class_in_async_await": "async def f(y):\n    class C:\n        g = await y\n",
    "class_in_async_method_await": (
        "async def f(y):\n    class C:\n        async def m(self):\n            return await y\n"
    ),
    "genexp_await_in_nested_genexp_first_iter": "def f(y):\n    return (a for a in y if (b for b in await a))\n",
    "alist_in_genexp_first_iter_of_agen_in_def": "def f(y):\n    return (a async for a in [b async for b in y])\n",
    "setcomp_await_def": "def f(y):\n    return {await a for a in y}\n",
    "dictcomp_await_value_def": "def f(y):\n    return {a: await a for a in y}\n",
    "alist_in_lambda_default_in_def": "def f(y):\n    return lambda v=[a async for a in y]: v\n",
    "awith_multi_mod": "async with a, b:\n    pass\n",
    "afor_in_if_def": "def f(y):\n    if y:\n        async for a in y:\n            pass\n",
    "afor_in_try_mod": "try:\n    async for a in y:\n        pass\nexcept Exception:\n    pass\n",
    "alist_in_fstring_def": "def f(y):\n    return f'{[a async for a in y]}'\n",
    "alist_after_await_in_async": "async def f(y):\n    return [a async for a in y]\n",
    "await_in_genexp_in_lambda_first_iter": "f = lambda y: (a for a in await y)\n",
    "nested_async_def_ok": (
        "def f(y):\n    async def g():\n        async with y:\n            return [a async for a in y]\n    return g\n"
    ),
}
# the compiler's messages for what AG106 and AG107 report
OURS = (
    "'await' outside",
    "'async for' outside",
    "'async with' outside",
    "asynchronous comprehension outside",
    "'yield from' inside async function",
    "'return' with value in async generator",
)
_COMPILE = """
import json, pathlib, sys
out = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    try:
        compile(path.read_text(), path.name, "exec")
        out[path.stem] = None
    except SyntaxError as error:
        out[path.stem] = [error.msg, error.lineno]
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", required=True, help="an interpreter (repeat)")
    parser.add_argument("--awaitguard", default=shutil.which("awaitguard") or "awaitguard")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, source in PROGRAMS.items():
            (root / f"{name}.py").write_text(source)
        verdicts = {
            python: json.loads(
                subprocess.run([python, "-c", _COMPILE, tmp], capture_output=True, text=True, check=True).stdout
            )
            for python in args.python
        }
        scan = subprocess.run(
            [
                str(Path(args.awaitguard).resolve()) if "/" in args.awaitguard else args.awaitguard,
                "scan",
                "--no-cache",
                "--format",
                "json",
                "--select",
                "AG106,AG107",
                ".",
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    reported: dict[str, set[int]] = {}
    for finding in json.loads(scan.stdout)["findings"]:
        reported.setdefault(finding["path"].removesuffix(".py"), set()).add(finding["line"])
    every = some = ours = 0
    wrong: list[str] = []
    for name in PROGRAMS:
        results = [verdicts[python][name] for python in args.python]
        if all(results):
            every += 1
            if all(any(word in r[0] for word in OURS) for r in results if r):
                ours += 1
                lines = {r[1] for r in results if r}
                if not lines <= reported.get(name, set()):
                    wrong.append(f"{name}: rejected at line {sorted(lines)}, reported {sorted(reported.get(name, ()))}")
                continue
        elif any(results):
            some += 1
        if name in reported:
            wrong.append(f"{name}: reported, but not every version rejects it as AG106/AG107 say")
    print(
        f"{len(PROGRAMS)} programs; rejected by every version: {every} ({ours} for AG106/AG107's reasons), "
        f"by some only: {some}; reported: {len(reported)}"
    )
    for line in wrong:
        print("  " + line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
