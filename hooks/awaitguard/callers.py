"""An unannotated parameter, known from its callers: what every call the project makes passes to it.

A parameter without an annotation is unknown (``lookup.Lookup._param``), unless every call of its def
that the project writes passes it an instance of the same class: then, in every run of the project's own
code, it holds that instance. The question is asked once per def, and answered only when all of this
holds (else the parameter stays unknown):

- the def is a class's ``__init__`` (called as the class), a static or class method, a module-level
  function, or a plain method whose class's MRO is all the project's (``callsites.MethodCalls``: every
  `x.name(...)` of the project, whatever `x` is); not a nested one, not decorated (apart from
  ``staticmethod``/``classmethod``), in the project;
- a method that may be reached by dispatch from elsewhere is left out: a static or class method must be the
  only definition of its name in its class's MRO, which must be fully known; the class of an ``__init__``
  has no base but ``object``, no decorator, no ``__new__`` or metaclass, and its body never calls
  ``type(...)(...)`` or ``self.__class__(...)``;
- the project's files naming the callee (a whole-word search, at most ``_MAX_FILES`` of them) all parse,
  and every occurrence of that name is accounted for: a call of the def (its arguments are read), a use
  that cannot call it (an annotation, ``isinstance``'s class, an attribute read such as
  ``Draft._from_update``, an ``__all__`` entry, `hasattr`'s name, a class handed to a method rewriter at a
  module's top level), a name that resolves to another definition, or an unresolvable call whose arguments
  cannot bind the def. A subclass whose first base is the class and that adds no ``__init__``/``__new__``
  builds it: its name is searched too. A class handed on (assigned to a local name, passed to a project
  function) is accounted for when every use its value reaches only reads it (`dir(cls)`, `getattr(cls, name)`:
  ``inert.py``). Any other use (the class or function passed on, assigned, subclassed otherwise, named in a
  string, an unresolvable receiver of the name) may call it unseen;
- in a class method of the class, ``cls(...)`` is a call of the class; any other use of ``cls`` there
  (handed on) is not accounted for;
- every call passes the parameter by position or keyword, without ``*args``/``**kwargs``, from a
  function body or the module (not a class body), with a value that does not depend on a lambda's or a
  comprehension's own names; a call leaving it out gives it the def's default;
- the values merge into one instance of one class (an assigned ``None`` gives way, as elsewhere), or are
  `self` of several classes that one project class combines (``mixins.py``), and at least one call is seen.

Calls from outside the project (a public class a user builds with a client of their own) are not seen;
the inference does not claim anything about them: a finding says that the calls the project makes do
fail. A parameter of a def whose callers are found through another unannotated parameter (a class method
passing its own ``client`` on) is followed the same way, once per def; a cycle is unknown.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from awaitguard.callsites import (
    FUNCS,
    MethodCalls,
    Parsed,
    Unaccounted,
    allocated,
    bound_root,
    cannot_bind,
    hasattr_name,
    in_all,
    in_annotation,
    indexed,
    isinstance_class,
    rewriter_argument,
    scope_of,
)
from awaitguard.inert import Inert
from awaitguard.layout import is_test_code
from awaitguard.model import DefFact
from awaitguard.refs import ref_of
from awaitguard.resolving import NONE, class_scope
from awaitguard.tree import holds_word
from awaitguard.values import UNKNOWN, Value

_MAX_FILES = 12  # a name in the code of more files than this is common: its calls are unlikely to agree, and costly
_MAX_MENTIONS = 32  # files naming it at all (in comments and docstrings too), at most
_MAX_BYTES = 256 << 10  # the bytes a search beyond those limits (a plain method's, a name in many files) may parse
# comments and string literals, blanked to count the files that name a word in code (an estimate: only the count)
_TEXT = re.compile(rb"#[^\n]*|\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'")
# what the calls pass to each parameter: a value, or an argument to resolve when that parameter is asked about
# (module, function scope, expression): most parameters of a def searched never are
_Pending = Value | tuple[str, str, ast.expr]
_ParamValues = dict[str, list[_Pending]]


class Callers(MethodCalls, Inert):
    callers_on: bool  # only the twin resolver the rules ask for a second opinion (``Resolver.through_callers``)
    _callers: dict[tuple[str, str], _ParamValues]
    _callers_busy: set[tuple[str, str]]
    _callers_params: dict[tuple[str, str, str], Value | None]  # per parameter, resolved (None: while resolving)
    _parsed: dict[str, Parsed | None]

    def callers_state(self) -> None:
        self._callers, self._callers_busy, self._callers_params = {}, set(), {}
        self._prefixes, self._parsed, self._project_bytes = {}, {}, None

    def _param_from_callers(self, module: str, qualname: str, name: str) -> Value:
        if not self.callers_on:
            return UNKNOWN
        key = (module, qualname)
        found = self._callers.get(key)
        if found is None:
            if key in self._callers_busy:
                return self.cut_short()
            self._callers_busy.add(key)
            try:
                found = self._callers_of(module, qualname)
            except Unaccounted:
                found = {}
            finally:
                self._callers_busy.discard(key)
            self._callers[key] = found
        param = (module, qualname, name)
        if param in self._callers_params:
            return self._callers_params[param] or self.cut_short()  # None: a cycle while resolving
        pending = found.get(name)
        if pending is None:
            return UNKNOWN
        self._callers_params[param] = None
        values = [v if isinstance(v, Value) else self._argument(*v) for v in pending]
        merged = self._merge(values)
        if merged.kind != "instance":
            merged = self.combined(values)  # `self` of several mixins: the one class combining them
        result = merged if merged.kind == "instance" and merged.defn is not None else UNKNOWN
        self._callers_params[param] = result
        return result

    # -- which def, and how it is called --------------------------------------------------------------
    def _callers_of(self, module: str, qualname: str) -> _ParamValues:
        tables = self.tables(module)
        if tables is None or module not in self.index.modules or "<locals>" in qualname:
            return {}
        scope = tables.scopes.get(qualname)
        defs = tables.defs.get(qualname, [])
        if scope is None or len(defs) != 1:
            return {}
        defn = defs[0]
        allowed = {"n:staticmethod", "n:classmethod"}
        if any(dec[:1] != dec or dec[0] not in allowed for dec in defn.decorators):
            return {}
        short = qualname.rsplit(".", 1)[-1]
        if is_test_code(tables.facts.path):
            return {}  # pytest calls tests with fixtures, and helpers with them and with doubles: calls not seen
        method = False  # a plain method: every call of the name, on any receiver (``_closed_method``)
        if not scope.cls:
            target, skip, owner = self._def_value(tables.facts, defn), 0, None
        else:
            owners = tables.defs.get(scope.cls, [])
            if len(owners) != 1:
                return {}
            owner = self._def_value(tables.facts, owners[0])
            if short == "__init__" and not scope.is_static and not scope.is_classmethod:
                if not self._plain_class(owners[0]):
                    return {}
                target, skip = owner, 1
            elif scope.is_static or scope.is_classmethod:
                if not self._only_definition(owner, short):
                    return {}
                target, skip = self._def_value(tables.facts, defn), 1 if scope.is_classmethod else 0
            elif self._closed_method(owner, short):
                target, skip, method = self._def_value(tables.facts, defn), 1, True
            else:
                return {}
        assert target.defn is not None
        node: ast.FunctionDef | ast.AsyncFunctionDef | None = None
        values: _ParamValues = {}
        seen = 0
        # the callee's name, then the names of subclasses that build it (`class Sub(Callee): pass`)
        words: list[tuple[str, Value]] = [(target.defn.qualname.rsplit(".", 1)[-1], target)]
        for search, named in words:
            paths = self._mentioning(search)
            if not self._searchable(paths, search, method) or (named is target and tables.facts.path not in paths):
                return {}
            if method and self._named_by_prefix(search):  # (once the cheaper tests pass: it reads every file)
                return {}
            node = node or self._def_node(tables.facts.path, defn)
            if node is None:
                return {}
            for path in paths:
                for call, where, scope_q in self._calls_in(
                    path, search, named, (named if skip and short == "__init__" else None), method, (node, skip), words
                ):
                    seen += 1
                    self._read_call(call, node, skip, where, scope_q, module, defn, values, method)
        return values if seen else {}

    def _searchable(self, paths: list[str], word: str, method: bool) -> bool:
        """Whether the files naming ``word`` are few enough to read, and one of them calls it. A plain method's
        name, and a name in the text of more than ``_MAX_FILES`` files, are searched only within ``_MAX_BYTES``."""
        if not paths or len(paths) > _MAX_MENTIONS:
            return False
        blobs = self.index.tree.read(paths) if self._project_bytes is None else self._project_bytes
        if (method or len(paths) > _MAX_FILES) and sum(len(blobs.get(path, b"")) for path in paths) > _MAX_BYTES:
            return False
        if len(paths) > _MAX_FILES:  # counted where the word is code, not in a comment or a string only
            plain = word.encode()
            if sum(holds_word(_TEXT.sub(b" ", blobs.get(path, b"")), plain) for path in paths) > _MAX_FILES:
                return False
        return self._called_somewhere(paths, word)

    def _called_somewhere(self, paths: list[str], word: str) -> bool:
        """Whether the bytes of ``paths`` call ``word`` anywhere but in its own `def` (before any is parsed)."""
        name = re.escape(word.encode())
        calls = re.compile(rb"(?<![\w.])(def\s+)?" + name + rb"\s*\(|\." + name + rb"\s*\(|\bcls\s*\(")
        blobs = self.index.tree.read(paths) if self._project_bytes is None else self._project_bytes
        return any(not m.group(1) for path in paths for m in calls.finditer(blobs.get(path, b"")))

    def _plain_class(self, cls: DefFact) -> bool:
        """A class only its own calls build: no base but `object`, no decorator, no `__new__`/metaclass."""
        bases_plain = all(base in (("n:object",),) for base in cls.bases)
        return bases_plain and not cls.decorators and not cls.dynamic and not cls.has_metaclass

    def _only_definition(self, owner: Value, name: str) -> bool:
        """Whether no class of ``owner``'s MRO but itself defines ``name`` (a call through a base may reach it)."""
        if not self._known_mro(owner):
            return False
        return not any(
            cls.defn is not None and cls.defn != owner.defn and name in cls.defn.members for cls, _ in self._mro(owner)
        )

    def _def_node(self, path: str, defn: DefFact) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        parsed = self._parse(path)
        short = defn.qualname.rsplit(".", 1)[-1]
        for node in parsed.defined.get(defn.line, ()) if parsed else ():
            if isinstance(node, FUNCS) and node.name == short:
                return node
        return None

    def _parse(self, path: str) -> Parsed | None:
        if path in self._parsed:
            return self._parsed[path]
        data = self.index.tree.read([path]).get(path)
        found = _parsed(data) if data is not None else None
        if len(self._parsed) > 64:
            self._parsed.clear()
        self._parsed[path] = found
        return found

    # -- the occurrences of the name in one file -----------------------------------------------------
    def _calls_in(
        self,
        path: str,
        search: str,
        target: Value,
        cls: Value | None,
        method: bool,
        signature: tuple[ast.FunctionDef | ast.AsyncFunctionDef, int],
        subclasses: list[tuple[str, Value]],
    ) -> Iterator[tuple[ast.Call, tuple[str, str], frozenset[str]]]:
        """Every call of ``target`` in ``path`` (call, (module, function scope), names a lambda or a comprehension
        binds around it); raises ``Unaccounted`` for a use of ``search`` that may call it unseen."""
        parsed = self._parse(path)
        entry = self.index.path_modules.get(path)
        if parsed is None or entry is None:
            raise Unaccounted
        parents, named = parsed.parents, parsed.named
        module = entry[0]
        assert target.defn is not None
        for node in named.get(search, ()):  # the nodes naming `search`, in ast.walk's order
            if (isinstance(node, ast.Name) and node.id == search) or (
                isinstance(node, ast.Attribute) and node.attr == search
            ):
                call = self._occurrence(node, parents, module, target, method, signature, subclasses)
                if call is not None:
                    yield call
            elif isinstance(node, ast.Constant) and node.value == search:
                if not in_all(node, parents) and not in_annotation(node, parents) and not hasattr_name(node, parents):
                    raise Unaccounted  # `getattr(module, "name")`: not followed here
        if cls is not None and module == cls.module and cls.defn is not None:
            for body in parsed.defined.get(cls.defn.line, ()):
                if isinstance(body, ast.ClassDef):
                    for node in ast.walk(body):
                        yield from self._class_own_calls(node, parents, module, cls)

    def _occurrence(
        self,
        node: ast.Name | ast.Attribute,
        parents: dict[int, ast.AST],
        module: str,
        target: Value,
        method: bool,
        signature: tuple[ast.FunctionDef | ast.AsyncFunctionDef, int],
        subclasses: list[tuple[str, Value]],
    ) -> tuple[ast.Call, tuple[str, str], frozenset[str]] | None:
        if in_annotation(node, parents) or isinstance_class(node, parents):
            return None  # whatever the name is, nothing is called
        if not isinstance(node.ctx, ast.Load):
            raise Unaccounted  # the name rebound, or set as an attribute
        scope, bound, in_class_body = scope_of(node, parents)
        if method and isinstance(node, ast.Attribute):
            return self._method_call(node, parents, module, scope, bound, in_class_body)
        value = self._value(module, scope, ref_of(node)) if not bound_root(node, bound) else UNKNOWN
        ours = value.defn == target.defn and value.module == target.module and value.kind == target.kind
        if value.kind != "unknown" and value.defn is not None and not ours:
            return None  # another definition of that name
        parent = parents.get(id(node))
        if not ours:
            if isinstance(parent, ast.Call) and parent.func is node and cannot_bind(parent, *signature):
                return None  # `types.Message(id=...)`: were it the callee, a TypeError before its body runs
            if target.kind == "class" and self._later_base(node, parent, module, scope, target):
                return None
            raise Unaccounted
        if isinstance(parent, ast.Call) and parent.func is node:
            if in_class_body:
                raise Unaccounted
            return parent, (module, scope), bound
        if target.kind == "class":
            if isinstance(parent, ast.Attribute) and not parent.attr.startswith("__"):
                return None  # `Draft._from_update(...)`, a constant: reads the class, builds nothing
            if allocated(node, parent):
                return None  # `super().__new__(Sub)`: an instance made without `__init__`
            if isinstance(parent, ast.ClassDef) and parent.bases[:1] == [node]:
                sub = self._inheriting(parent, module, scope)
                if sub is not None:
                    subclasses.append((parent.name, sub))  # its calls build this class: read them too
                    return None
            if not scope and rewriter_argument(node, parent, self.tables(module)):
                return None  # `syncify(Message)`: rewrites the class's methods (``rewrites.py``), builds none
            if self._only_read(node, parents, module):
                return None  # handed on, and only read where it goes (`dir(cls)`, ``inert.py``)
        raise Unaccounted

    # -- one call's arguments --------------------------------------------------------------------------
    def _read_call(
        self,
        call: ast.Call,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        skip: int,
        where: tuple[str, str],
        bound: frozenset[str],
        module: str,
        defn: DefFact,
        values: _ParamValues,
        method: bool = False,
    ) -> None:
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            raise Unaccounted
        args = node.args
        every = [a.arg for a in (*args.posonlyargs, *args.args)]
        positional = every[skip:]
        defaults: dict[str, ast.expr] = dict(zip(every[len(every) - len(args.defaults) :], args.defaults, strict=True))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None})
        if len(call.args) > len(positional) and args.vararg is None:
            raise Unaccounted  # a TypeError: not a call that runs the body
        given: dict[str, ast.expr] = dict(zip(positional, call.args, strict=False))
        given.update({k.arg: k.value for k in call.keywords if k.arg is not None})
        # an override passing its own parameter on (`super().name(client)`): what its own calls pass, the same calls
        passed_on = self._own_params(where, node.name) if method else frozenset()
        for param in (*positional, *(a.arg for a in args.kwonlyargs)):
            expr = given.get(param)
            if isinstance(expr, ast.Name) and expr.id == param and param in passed_on:
                continue
            value: _Pending
            if expr is not None:
                value = UNKNOWN if bound_root(expr, bound) else (where[0], where[1], expr)
            elif param in defaults:
                value = (module, class_scope(defn), defaults[param])
            else:
                raise Unaccounted
            values.setdefault(param, []).append(value)

    def _argument(self, module: str, scope: str, expr: ast.expr) -> Value:
        if isinstance(expr, ast.Constant) and expr.value is None:
            return NONE  # gives way in the merge, as an assigned `None` does
        return self._value(module, scope, ref_of(expr))


__all__ = ["Callers", "Parsed"]


# ``_parsed`` per file's bytes, shared by every resolver of a process: a diff-scoped scan's resolvers of the index
# and of HEAD (and their twins) search the same files, most of them the same bytes in both trees
_PARSED: dict[bytes, Parsed | None] = {}
_PARSED_LIMIT = 64  # parsed trees are large: a few dozen are kept


def _parsed(data: bytes) -> Parsed | None:
    """``data`` parsed for the searches (``callsites.indexed``); None if it does not parse."""
    if data in _PARSED:
        return _PARSED[data]
    try:
        tree: ast.Module | None = ast.parse(data)
    except (SyntaxError, ValueError):
        tree = None
    found = indexed(tree) if tree is not None else None
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[data] = found
    return found
