"""`awaitguard policy --show | --explain NAME`: what the project's policy says, and what the scanner
knows about a name (where it is defined, its awaitability and why, the policies that apply).

This is also how a user debugs a silent scanner: a name the scan cannot resolve says so here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from awaitguard import config as config_mod
from awaitguard import engine, gitscope
from awaitguard.config import Config, Policy, name_matches
from awaitguard.index import Index
from awaitguard.model import DefFact, is_call, ref_text
from awaitguard.policy.check import Checker, qualified, short
from awaitguard.resolve import Resolver
from awaitguard.rules import CODES
from awaitguard.rules.policy import AG108, AG203
from awaitguard.tree import FsTree
from awaitguard.values import Value

PROG = "awaitguard policy"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Show the project's [tool.awaitguard.policy].")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--show", action="store_true", help="every policy, and the twins found by naming convention")
    what.add_argument("--explain", metavar="NAME", help="what the project knows about NAME (pkg.mod.func)")
    parser.add_argument("--config", type=Path, default=None, help="pyproject.toml to read [tool.awaitguard] from")
    return parser


def main(argv: Sequence[str]) -> int:
    try:
        opts = _parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    root, repo = gitscope.project_root(Path.cwd())
    try:
        config = config_mod.load(root, opts.config, CODES)
        index = _index(config, root, repo is not None)
        resolver = Resolver(index)
        if config.policy is not None:
            from awaitguard.policy.scan import validate

            validate(config.policy, resolver)
        text = show(config, index, resolver) if opts.show else explain(config, resolver, opts.explain)
    except (config_mod.ConfigError, gitscope.GitError) as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2
    sys.stdout.write(text)
    return 0


def _index(config: Config, root: Path, in_git: bool) -> Index:
    files = gitscope.list_files(root) if in_git else None
    return engine.make_index(config, FsTree(root, files=files, exclude=config.exclude), cache=True, workers=1)


def convention_twins(policy: Policy, index: Index, resolver: Resolver) -> list[tuple[str, str, str]]:
    """(sync name, async name, where the async one is) for every pair the naming conventions find."""
    checker = Checker(policy, resolver)
    candidates = [p for p in index.tree.files() if p.endswith(".py")]
    blobs = index.tree.read(candidates)
    found: list[tuple[str, str, str]] = []
    for facts in index.load([p for p in candidates if b"async def" in blobs.get(p, b"")]):
        for defn in facts.defs:
            if defn.kind != "function" or defn.is_async:
                continue
            value = resolver.lookup(facts.module, defn.qualname)
            if value.kind != "function" or qualified(value) in checker.explicit:
                continue
            twin, twin_defn, path = checker.twin_of(value)
            if twin and twin_defn is not None:
                found.append((qualified(value), twin, f"{path}:{twin_defn.line}"))
    return sorted(found)


def show(config: Config, index: Index, resolver: Resolver) -> str:
    policy = config.policy
    if policy is None:
        return f"no [tool.awaitguard.policy] in {config.source or config.root / 'pyproject.toml'}\n"
    src = policy.source
    out = [f"[tool.awaitguard.policy] in {src}"]
    for number, real in enumerate(policy.real, 1):
        out.append(
            f"real {number} ({src}:{real.line}): no test double over {', '.join(real.targets)} "
            f"in {', '.join(real.paths)} ({AG203.code})"
        )
    for key, names in (("sync", policy.sync), ("async", policy.async_), ("forbid-in-async", policy.forbid_in_async)):
        for name in names:
            out.append(f"{key} ({src}:{policy.line_of(name)}): {name}")
    for sync, twin in policy.twins:
        out.append(f"twins ({src}:{policy.line_of(sync)}): {sync} -> {twin}")
    conventions = ", ".join(f"`{c}`" for c in policy.conventions) or "none"
    found = convention_twins(policy, index, resolver) if policy.conventions else []
    out.append(f"twins by naming convention ({conventions}): {len(found)}")
    out.extend(f"  {sync} -> {twin} ({where})" for sync, twin, where in found)
    return "\n".join(out) + "\n"


def _find(name: str, resolver: Resolver) -> Value | None:
    parts = name.split(".")
    index = resolver.index
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if index.has_module(module) or index.in_library(module):
            if cut == len(parts):
                return Value("module", module=module, name=module, resolver=resolver)
            value = resolver.lookup(module, ".".join(parts[cut:]))
            return value if value.kind != "unknown" else None
    return None


def _defined_again(name: str, resolver: Resolver) -> str | None:
    """Why a name of a project module is unknown when the module defines it, or the class holding it, more than
    once (both branches of `if PYDANTIC2: ... else: ...`, or again below): the definitions' lines and kinds;
    None otherwise."""
    found = _project_module(name, resolver)
    tables = resolver.tables(found[0]) if found is not None else None
    if found is None or tables is None:
        return None
    parts = found[1]
    for end in range(1, len(parts) + 1):  # the outermost name defined again: `Result` of `Result.get`
        qualname = ".".join(parts[:end])
        defs = tables.defs.get(qualname, [])
        others = len(tables.bindings.get(qualname, [])) + len(tables.imports.get(("", qualname), []))
        if not defs or len(defs) + others < 2:
            continue
        kinds = ", ".join(f"{_kind(d)} at line {d.line}" for d in defs)
        more = f", and bound {others} more time{'s' if others > 1 else ''}" if others else ""
        return (
            f"  `{qualname}` is defined {len(defs)} times in {tables.facts.path} ({kinds}{more}): the scanner"
            " does not know which one a use gets, and says nothing about it (docs/limits.md)"
        )
    return None


def _project_module(name: str, resolver: Resolver) -> tuple[str, list[str]] | None:
    """The project module that holds ``name`` (the longest prefix that is one), and the rest of the name's parts
    (at least one); None when no project module does."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if resolver.index.has_module(module) and resolver.tables(module) is not None:
            return module, parts[cut:]
    return None


def _replaced(name: str, resolver: Resolver) -> str | None:
    """Why a method the project defines is unknown when the project replaces it from outside its class
    (`ws.wait = functools.partial(...)` on a receiver that may be one): None otherwise."""
    found = _project_module(name, resolver)
    tables = resolver.tables(found[0]) if found is not None else None
    if found is None or tables is None or len(found[1]) < 2:  # a method: a class's name, then the method's
        return None
    module, parts = found
    defs = tables.defs.get(".".join(parts), [])
    owner = resolver.lookup(module, ".".join(parts[:-1]))
    if len(defs) != 1 or owner.kind != "class" or not resolver.stored_outside(owner, parts[-1]):
        return None
    paths = resolver.storing_paths(parts[-1])
    return (
        f"  defined at {tables.facts.path}:{defs[0].line} ({_kind(defs[0])}), but the project replaces "
        f"`.{parts[-1]}` from outside its class, on objects that may be one ({', '.join(paths)}): the scanner "
        "does not know what a call of it runs, and says nothing about it (docs/how-it-decides.md)"
    )


def _returns_replaced(defn: DefFact, resolver: Resolver) -> str:
    """`: it returns `self.name(...)`, which ...` when a plain def's result is a call of a method the project
    replaces from outside its class; "" otherwise."""
    for ref in defn.returns:
        if len(ref) == 3 and ref[0] in ("n:self", "n:cls") and ref[1].startswith(".") and is_call(ref[2]):
            method = ref[1][1:]
            paths = resolver.storing_paths(method)
            if paths:
                return (
                    f": it returns `{ref_text(ref)}`, and the project replaces `.{method}` from outside its class "
                    f"({', '.join(paths)})"
                )
    return ""


def _kind(defn: DefFact) -> str:
    return "async def" if defn.is_async else "def" if defn.kind == "function" else "class"


def _awaitability(value: Value, resolver: Resolver) -> str:
    defn = value.defn
    if value.kind == "module":
        return "a module"
    if value.kind == "class":
        return "a class: calling it makes an instance"
    if value.kind == "external":
        return "outside the project, known by name only: the scan says nothing about its calls"
    if value.kind == "instance" and defn is not None:
        verdict = value.awaitable()
        if verdict is not None:
            has = "with" if verdict else "without"
            return f"{'awaitable' if verdict else 'not awaitable'}: an instance of a class {has} `__await__`"
    if value.kind != "function" or defn is None:
        return f"unknown to the scanner ({value.kind})"
    result = resolver.call(value)
    known = result.awaitable()
    source = "a stub or library" if value.path.startswith("<") else "the source"
    if defn.is_async:
        return f"awaitable: `async def` in {source}; calling it makes a coroutine"
    if known is True:
        why = f"annotated `-> {defn.returns_annotation}`" if defn.returns_annotation else "it returns an awaitable"
        return f"awaitable: a plain `def` whose result is awaitable ({why}, {source})"
    if known is False:
        return f"not awaitable: a plain `def` in {source}"
    why = _returns_replaced(defn, resolver) if source == "the source" else ""
    return f"unknown: a plain `def` in {source} whose result the scanner cannot classify{why}"


def _named(name: str, resolver: Resolver) -> list[str]:
    """``module.qualname (path:line)`` of the project's module-level definitions and methods whose last name is
    ``name``'s (a bare `TaskiqResult`, a name of a moved module), at most five."""
    last = short(name)
    found: list[str] = []
    for facts in resolver.index.load(sorted(resolver.index.tree.grep({last}))):
        for defn in facts.defs:
            if defn.qualname.rsplit(".", 1)[-1] == last and defn.qualname.count(".") <= 1:
                found.append(f"`{facts.module}.{defn.qualname}` ({facts.path}:{defn.line})")
    return found[:5]


def explain(config: Config, resolver: Resolver, name: str) -> str:
    policy = config.policy
    value = _find(name, resolver)
    out = [name]
    again = _defined_again(name, resolver) or _replaced(name, resolver) if value is None else None
    if again is not None:
        out.append(again)
    elif value is None:
        candidates = _named(name, resolver)
        if candidates:  # a bare or misplaced name: where the project defines that last name
            out.append("  not found as written: ask for a name in full (`package.module.Class.method`)")
            out.extend(f"  the project defines {where}" for where in candidates)
        else:
            out.append("  not found: no module of the project or its libraries defines it")
    else:
        full = qualified(value) or name
        if full != name:
            out.append(f"  is {full}")
        if value.kind == "instance" and value.defn is not None:
            out.append(f"  an instance of `{value.defn.qualname}` (its class at {value.path}:{value.defn.line})")
        elif value.defn is not None and not value.path.startswith("<"):
            out.append(f"  defined at {value.path}:{value.defn.line} ({_kind(value.defn)})")
        out.append(f"  awaitability: {_awaitability(value, resolver)}")
    declared = [
        (pattern, is_async, full)
        for pattern, is_async, full, *_ in resolver.index.declared
        if name_matches(short(name), (pattern,))
    ]
    for _, is_async, full in declared:
        where = f"{policy.source}:{policy.line_of(full)}" if policy else ""
        out.append(
            f"  declared {'async' if is_async else 'sync'} as `{full}` ({where}): a call the scanner cannot "
            f"follow whose callee is named `{short(name)}` is taken as {'a coroutine' if is_async else 'plain'}"
        )
    if policy is None:
        out.append("  policies: none ([tool.awaitguard.policy] is not set)")
        return "\n".join(out) + "\n"
    names = [n for n in {name, qualified(value) if value else ""} if n]
    applies: list[str] = []
    for number, real in enumerate(policy.real, 1):
        if any(name_matches(n, real.targets) for n in names):
            applies.append(
                f"real {number} ({policy.source}:{real.line}): no test double over it in {', '.join(real.paths)}"
            )
    for pattern in policy.forbid_in_async:
        if any(name_matches(n, (pattern,)) for n in names):
            applies.append(f"forbid-in-async ({policy.source}:{policy.line_of(pattern)}): never called from async code")
    checker = Checker(policy, resolver)
    if value is not None:
        twin, _, where = checker.twin_of(value)
        if twin:
            how = "declared" if qualified(value) in checker.explicit else "by naming convention"
            applies.append(f"sync twin of {twin} ({how}): async code calling it is {AG108.code}")
    for n in names:
        if n in checker.explicit_async:
            applies.append(f"async twin of {checker.explicit_async[n]} (declared): the one async code should call")
    out.append("  policies: " + ("none" if not applies else applies[0]))
    out.extend(f"            {line}" for line in applies[1:])
    return "\n".join(out) + "\n"
