"""State one plugin instance shares with its callbacks: options, config, modules, the core's project view."""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from mypy.build import default_data_dir
from mypy.fscache import FileSystemCache
from mypy.lookup import lookup_fully_qualified
from mypy.modulefinder import BuildSource, FindModuleCache, compute_search_paths, get_search_dirs
from mypy.nodes import MypyFile, SymbolTableNode
from mypy.options import Options

from awaitguard import index
from awaitguard.cache import default_cache_dir
from awaitguard.mypy_plugin.config import PluginConfig
from awaitguard.mypy_plugin.sources import PlainCallee, Project


def stubs_dir() -> Path | None:
    """The shipped stubs (one place knows where: ``awaitguard.index``)."""
    return index.stubs_dir()


def stubs_hash() -> str:
    root = stubs_dir()
    digest = hashlib.sha256()
    if root is not None:
        for path in sorted(root.rglob("*.pyi")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _inside(path: str, folders: list[str]) -> bool:
    """``path`` is one of ``folders`` or below one: mypy's own test for a search path it refuses."""
    candidates = {path, os.path.realpath(path)}
    return any(p == f or p.startswith(f + os.sep) for p in candidates for f in folders)


def mypy_stubs_path(python_executable: str | None) -> str | None:
    """The shipped stubs as a folder mypy accepts in ``mypy_path``.

    mypy refuses (and exits on) any ``mypy_path`` entry inside a site-packages folder of the Python
    it checks for, which is where a regular (non-editable) install puts ``awaitguard/stubs``. Then a
    copy is used, made once per stubs content under awaitguard's cache folder (a private temporary
    folder, removed at exit, when the cache folder cannot be written). A source checkout or an
    editable install is used as it is.
    """
    stubs = stubs_dir()
    if stubs is None:
        return None
    _sys_path, site_packages = get_search_dirs(python_executable)
    folders = [*site_packages, *(os.path.realpath(f) for f in site_packages)]
    if not _inside(str(stubs), folders):
        return str(stubs)
    target = default_cache_dir() / "mypy-stubs" / stubs_hash()
    if _inside(str(target), folders):
        return _private_copy(stubs)
    if target.is_dir():
        return str(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        shutil.copytree(stubs, staging / "stubs", ignore=shutil.ignore_patterns("__pycache__"))
        try:
            os.replace(staging / "stubs", target)  # atomic: a parallel run sees all of it or none
        except OSError:
            if not target.is_dir():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        return _private_copy(stubs)
    return str(target)


_PRIVATE: list[tempfile.TemporaryDirectory[str]] = []


def _private_copy(stubs: Path) -> str:
    holder = tempfile.TemporaryDirectory(prefix="awaitguard-stubs-")
    _PRIVATE.append(holder)  # removed when the process ends
    copy = Path(holder.name) / "stubs"
    shutil.copytree(stubs, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return str(copy)


def code_hash() -> str:
    """The plugin's own source, so an edited (editable-installed) plugin invalidates the cache."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def is_third_party(path: str) -> bool:
    parts = Path(path).parts
    return "site-packages" in parts or "dist-packages" in parts or "typeshed" in parts


class Services:
    def __init__(self, options: Options, config: PluginConfig, data: bool = False) -> None:
        self.options = options
        self.config = config
        self.data = data  # findings as data for the hook (``carried.py``), not notes for people
        self._project: Project | None = None
        self.modules: dict[str, MypyFile] = {}
        self._finders: dict[str, FindModuleCache] = {}
        self._stubs_hash: str | None = None
        self._line_counts: dict[str, int] = {}
        self._trees: dict[str, ast.Module | None] = {}
        self.signature_kinds: dict[str, str] = {}  # fullname -> the correction its calls need

    def start_build(self, modules: dict[str, MypyFile]) -> None:
        """mypy calls ``set_modules`` once per build; ``dmypy`` calls it again on every update, in
        the same plugin instance. Files may have changed since: rebuild the project view on next use."""
        self.modules = modules
        self._project = None
        self._finders.clear()
        self._line_counts.clear()
        self._trees.clear()
        self.signature_kinds.clear()

    # -- symbols -------------------------------------------------------------------------------
    def lookup(self, fullname: str) -> SymbolTableNode | None:
        return lookup_fully_qualified(fullname, self.modules, raise_on_missing=False)

    def module_of(self, fullname: str) -> MypyFile | None:
        """The loaded module that holds ``fullname`` (longest matching prefix)."""
        parts = fullname.split(".")
        for end in range(len(parts), 0, -1):
            module = self.modules.get(".".join(parts[:end]))
            if module is not None:
                return module
        return None

    @property
    def project(self) -> Project:
        """The scanner's index and resolver over the mypy run's directory, built on first use."""
        if self._project is None:
            self._project = Project(Path.cwd(), self.config.src)
        return self._project

    def plain_callee(self, fullname: str) -> PlainCallee | None:
        """``fullname`` when it is an unannotated plain ``def`` that provably returns no awaitable."""
        module = self.module_of(fullname)
        if module is None or not module.path or module.fullname == fullname:
            return None
        return self.project.plain(module.path, fullname[len(module.fullname) + 1 :])

    def never_returns(self, fullname: str, line: int, here: str) -> bool:
        """Whether the def ``fullname`` (at ``line``; in ``here``, the file being checked, when it is local to a
        function) ends in `raise` or `pytest.fail(...)` and returns nothing, as the scan reads it
        (``DefFact.never_returns``): a double that fails the test when called."""
        module = self.module_of(fullname)
        local = module is None or not module.path or not fullname.startswith(f"{module.fullname}.")
        path = here if local or module is None else module.path
        qualname = "" if local or module is None else fullname[len(module.fullname) + 1 :]
        name = fullname.rpartition(".")[2]
        facts = self.project.facts(path)
        defs = [
            d
            for d in (facts.defs if facts is not None else ())
            if d.kind == "function" and (d.qualname == qualname or (d.line == line and d.qualname.endswith(name)))
        ]
        return bool(defs) and all(d.never_returns for d in defs)

    def where(self, fullname: str, line: int, is_async: bool | None = None) -> str:
        """``path:line:col`` of the definition ``fullname`` (its own module's, not a re-exporter's; ``col``
        as the scan gives it, ``path:line`` where the source has no such definition), or '' when that
        line is not in the file, or the ``def`` there is not ``async`` as ``is_async`` says."""
        module = self.module_of(fullname)
        if module is None or not module.path:
            return ""
        qualname = fullname[len(module.fullname) + 1 :]
        if line < 1:
            # A node mypy read from its cache has no line (FuncDef.serialize keeps none): a callee
            # checked in an earlier run, or by another worker under -n. The source still knows it.
            line = self.project.def_line(module.path, qualname)
            if line < 1:
                return ""
        if line > self._line_count(module.path):
            return ""
        facts = self.project.facts(module.path)
        defs = [d for d in facts.defs if d.qualname == qualname] if facts is not None else []
        functions = [d for d in defs if d.kind == "function"]
        if is_async is not None and functions and not any(d.line == line and d.is_async == is_async for d in functions):
            return ""
        cols = [d.col for d in defs if d.line == line]
        return f"{_display(module.path)}:{line}" + (f":{cols[0]}" if cols else "")

    def _def_node(self, path: str, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The ``def``/``async def`` ``qualname`` (``Class.method``) in the source file ``path``."""
        scope: ast.AST | None = self._tree(path)
        kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        for part in qualname.split("."):
            body = getattr(scope, "body", [])
            found = [n for n in body if isinstance(n, kinds) and n.name == part]
            scope = found[-1] if found else None
        return scope if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else None

    def placeholder_body(self, path: str, qualname: str) -> bool:
        """The function's body is a docstring and/or ``pass``, ``...`` or ``raise NotImplementedError``:
        a method for subclasses to implement (mypy marks such bodies only on abstract methods)."""
        node = self._def_node(path, qualname) if path.endswith(".py") else None
        if node is None:
            return False
        body = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        if not body:
            return True
        if len(body) > 1:
            return False
        stmt = body[0]
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            return True
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            raised = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"
        return False

    def self_calls_returned(self, path: str, qualname: str) -> list[str]:
        """The ``NAME``s of the ``return self.NAME(...)`` statements of the method ``qualname`` in the
        source file ``path`` (its first parameter standing for ``self``); parsed once per file."""
        scope = self._def_node(path, qualname)
        if not isinstance(scope, ast.FunctionDef) or not scope.args.args:
            return []
        first = scope.args.args[0].arg
        names: list[str] = []
        pending: list[ast.AST] = list(scope.body)
        while pending:
            node = pending.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue  # a nested scope's returns are its own
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
                callee = node.value.func
                if (
                    isinstance(callee, ast.Attribute)
                    and isinstance(callee.value, ast.Name)
                    and callee.value.id == first
                ):
                    names.append(callee.attr)
            pending.extend(ast.iter_child_nodes(node))
        return names

    def _tree(self, path: str) -> ast.Module | None:
        """``path`` parsed with ``ast``, once per build (None when it cannot be read or parsed)."""
        if path not in self._trees:
            try:
                with open(path, "rb") as handle:
                    self._trees[path] = ast.parse(handle.read(), filename=path)
            except (OSError, SyntaxError, ValueError):
                self._trees[path] = None
        return self._trees[path]

    def configured_later(self, path: str, line: int) -> bool:
        """The patch call on ``line`` hands its double to a name (``with patch(...) as m:``,
        ``m = mocker.patch(...)``, a parameter of the function it decorates) that the function then
        configures (``m.return_value = ...``, ``m.side_effect = ...``, ``m.configure_mock(...)``):
        what calling the double gives is the test's choice, perhaps a future."""
        tree = self._tree(path)
        if tree is None:
            return False
        scope: ast.AST = tree
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= (
                node.end_lineno or 0
            ):
                if getattr(scope, "lineno", 0) <= node.lineno:
                    scope = node  # the innermost function holding the line
        names: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if any(d.lineno <= line <= (d.end_lineno or d.lineno) for d in node.decorator_list):
                # ``@patch(..., new_callable=Mock)`` hands the double to the function as a parameter;
                # which one depends on the decorators' order: any parameter it configures counts
                scope = node
                names.update(arg.arg for arg in (*node.args.posonlyargs, *node.args.args))
        for node in ast.walk(scope):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.context_expr.lineno == line and isinstance(item.optional_vars, ast.Name):
                        names.add(item.optional_vars.id)
            elif isinstance(node, ast.Assign) and node.value.lineno == line and isinstance(node.value, ast.Call):
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        if not names:
            return False
        for node in ast.walk(scope):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in ("return_value", "side_effect")
                    and isinstance(target.value, ast.Name)
                    and target.value.id in names
                ):
                    return True
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "configure_mock"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in names
            ):
                return True
        return False

    def _line_count(self, path: str) -> int:
        if path not in self._line_counts:
            try:
                with open(path, "rb") as handle:
                    self._line_counts[path] = sum(1 for _ in handle)
            except OSError:
                self._line_counts[path] = 0
        return self._line_counts[path]

    # -- module search -------------------------------------------------------------------------
    def find_module(self, module_id: str, base_dir: str) -> str | None:
        finder = self._finders.get(base_dir)
        if finder is None:
            sources = [BuildSource(None, None, base_dir=base_dir)] if base_dir else []
            search = compute_search_paths(sources, self.options, default_data_dir())
            finder = FindModuleCache(search, FileSystemCache(), self.options)
            self._finders[base_dir] = finder
        found = finder.find_module(module_id)
        return found if isinstance(found, str) else None

    def resolve_dotted(self, dotted: str, base_dir: str) -> tuple[str, str] | None:
        """The longest importable prefix of ``dotted`` and its path."""
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            module_id = ".".join(parts[:end])
            path = self.find_module(module_id, base_dir)
            if path is not None:
                return module_id, path
        return None

    def stubs_hash(self) -> str:
        if self._stubs_hash is None:
            self._stubs_hash = stubs_hash() + code_hash()
        return self._stubs_hash


def base_dir(fullname: str, path: str) -> str:
    """The directory that ``fullname`` is importable from, given its file ``path``."""
    directory = Path(path).resolve().parent
    depth = fullname.count(".") + (1 if os.path.basename(path) == "__init__.py" else 0)
    for _ in range(depth):
        directory = directory.parent
    return str(directory)


def _display(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path


__all__ = ["Services", "base_dir", "is_third_party", "mypy_stubs_path", "stubs_dir", "stubs_hash"]
