"""Calls: what calling a value gives (a def, a class, a known external callable, a mock, a
`Callable[..., R]`, an instance with `__call__`).

A def's decorators are applied bottom-up first (``_effective``): known ones keep it, project
decorators that return their argument or a local wrapper are followed, anything else is unknown.
Then an `async def` makes a coroutine, a generator a generator, and a plain def its returned
values merged, or what it declares where the body is not conclusive.
"""

from __future__ import annotations

from awaitguard.containers import passes_default
from awaitguard.declared import awaits_to, declares_coroutine, declares_union, may_declare_awaitable
from awaitguard.known import BUILTIN_CLASSES, CALLED, KNOWN
from awaitguard.members import is_accessor
from awaitguard.model import DefFact, Ref, is_call
from awaitguard.overloads import choose, is_overload
from awaitguard.resolving import NONE, Resolving, class_scope
from awaitguard.values import UNKNOWN, Value


class Calls(Resolving):
    def call(self, value: Value, args: str | None = None) -> Value:
        """What calling ``value`` gives; ``args``: the call step, when a call site spells its arguments (only
        a stub's overloads ask, ``overloads.choose``)."""
        kind = value.kind
        if kind == "function" and value.defn is not None:
            return self._call_def(value)
        if kind == "class" and value.defn is not None:
            return self._instantiate(value)
        if kind == "external":
            called = CALLED.get(KNOWN.get(value.name, ""))
            if called is None:
                return UNKNOWN
            result, keeps_origin = called
            if result == "plain" and value.name in BUILTIN_CLASSES:  # `object()`, `dict()`: an instance of it
                return Value("builtin", name=value.name, origin=value, resolver=self)
            return Value(result, name=value.name, origin=value if keeps_origin else None, resolver=self)
        if kind == "asyncmock":
            return Value("asyncmock-result", name=value.name, resolver=self)
        if kind == "callable":  # a declared `Callable[..., R]`: an R; a container's `get`/`pop` (``name``) too
            return UNKNOWN if value.name and passes_default(args) else value.members[0]
        if kind == "overloads":
            chosen = choose([m.defn for m in value.members if m.defn is not None], args, value.bound)
            return next((self.call(m) for m in value.members if m.defn is chosen), UNKNOWN)
        if kind == "union":  # a method of a declared union's members (``_union_member``): what each call gives
            results = [self.call(member, args) for member in value.members]
            if any(r.kind == "unknown" for r in results):
                return UNKNOWN
            if all(r.kind == "coroutine" for r in results):
                return results[0]
            return Value("union", name=value.name, members=tuple(results), resolver=self)
        if kind == "instance" and value.defn is not None and not value.self_ref:
            call = self._member(value, "__call__")
            return self.call(call) if call.kind == "function" else UNKNOWN
        return UNKNOWN

    def method_result(self, value: Value, member: str) -> Value:
        """What calling ``member`` of the instance ``value`` gives, when it is a plain function of project or
        library source (a stub's declaration may simplify an `async def` into a `def`): UNKNOWN otherwise."""
        fn = self._member(value, member)
        if fn.kind != "function" or fn.defn is None or fn.self_ref:
            return UNKNOWN
        facts = self.index.facts(fn.module)
        if facts is None or facts.is_stub_file:
            return UNKNOWN
        return self.call(fn)

    def _instantiate(self, cls: Value) -> Value:
        assert cls.defn is not None
        if cls.defn.dynamic or "__new__" in cls.defn.members:
            return UNKNOWN
        for dec in cls.defn.decorators:
            if not self._keeps_class(cls, dec):
                return UNKNOWN
        # `cls(...)` in a classmethod: the subclass it runs for may define what this class does not
        return Value(
            "instance",
            module=cls.module,
            path=cls.path,
            defn=cls.defn,
            origin=cls,
            self_ref=cls.self_ref,
            resolver=self,
        )

    def _keeps_class(self, cls: Value, dec: Ref) -> bool:
        """Whether a class decorator leaves the class as it is: a known one (`@dataclass`), a project def
        returning its argument, or one that cannot be resolved (a type checker keeps the class too)."""
        assert cls.defn is not None
        value = self._value(cls.module, class_scope(cls.defn), dec)
        if value.kind == "external":
            return KNOWN.get(value.name, "deco-transparent") == "deco-transparent"
        if value.kind == "function" and value.defn is not None:
            return self._apply_decorator(value) is True
        return value.kind == "unknown"

    def _effective(self, fn: Value) -> tuple[Value | None, str]:
        """Apply decorators bottom-up: the function that really runs, or a special result kind."""
        assert fn.defn is not None
        current = fn
        scope = class_scope(fn.defn)
        for dec in reversed(fn.defn.decorators):
            if is_accessor(dec) or is_overload((dec,)):  # `@overload`: a stub's declaration, as written
                continue
            value = self._value(fn.module, scope, dec)
            behaviour = KNOWN.get(value.name, "") if value.kind == "external" else ""
            if behaviour in ("deco-transparent", "deco-property"):
                continue
            if behaviour == "deco-sync-cm":
                return current, "sync-cm"
            if behaviour == "deco-async-cm":
                return current, "async-cm"
            if value.kind == "instance" and value.defn is not None and not value.self_ref:
                value = self._member(value, "__call__")  # `@Job(...)`: the instance's `__call__` decorates
                bound = True
            else:
                bound = False
            if value.kind == "function" and value.defn is not None:
                applied = self._apply_decorator(value, bound)
                if applied is None:
                    return None, ""
                if isinstance(applied, Value):
                    current = applied
                continue
            return None, ""
        return current, ""

    def _apply_decorator(self, deco: Value, bound: bool = False) -> Value | bool | None:
        """True if ``deco`` returns its argument, a local wrapper def it returns, else None. ``bound``: ``deco``
        is a method called on an instance (`__call__`), its first parameter `self`."""
        assert deco.defn is not None
        defn = deco.defn
        if defn.is_async or defn.is_generator or not defn.returns:
            return None
        params = defn.params[1:] if bound else defn.params
        if defn.returns_param and len(defn.returns) == 1 and params and defn.returns[0] == (f"n:{params[0]}",):
            return True
        wrappers = [self._value(deco.module, defn.qualname, ref) for ref in defn.returns]
        merged = self._merge(wrappers)
        if merged.kind == "function" and merged.defn is not None and "<locals>" in merged.defn.qualname:
            return merged
        return None

    def _call_def(self, fn: Value) -> Value:
        effective, special = self._effective(fn)
        if effective is None or effective.defn is None:
            return UNKNOWN
        if special:
            return Value(special, origin=effective, resolver=self)
        defn = effective.defn
        if defn.is_async:
            kind = "asyncgen" if defn.is_generator else "coroutine"
            return Value(kind, origin=effective, resolver=self)
        if defn.is_generator:
            return Value("gen", origin=effective, resolver=self)
        return self._result(effective)

    def awaited(self, value: Value) -> Value:
        """What `await` gives for ``value``: for the coroutine of an `async def`, its result, read from its
        returns and what it declares as a sync def's is (without the def as origin: it is no plain `def`)."""
        fn = value.origin
        if value.kind == "instance":
            return self._awaited_instance(value)
        if value.kind != "coroutine" or fn is None or fn.kind != "function" or fn.defn is None:
            return UNKNOWN
        if not fn.defn.is_async or fn.defn.is_generator or may_declare_awaitable(fn.defn.returns_annotation):
            return UNKNOWN
        result = self._result(fn)
        if result.kind in ("unknown", "awaitable", "coroutine"):
            return result
        return result.replace(origin=None, via_property=False)

    def _awaited_instance(self, value: Value) -> Value:
        """What `await` gives for an instance of a class whose plain `def __await__` says it: declared
        ``-> Generator[Any, None, Conn]`` (aiohttp's request context manager, in its shipped stub), or, in
        source, a body returning `self.<method>().__await__()` of an `async def` method (aiosqlite's
        `Connection`: `await connect(...)` is what `_connect` gives); unknown otherwise."""
        if value.defn is None or value.self_ref:
            return UNKNOWN
        method = self._member(value, "__await__")
        defn = method.defn
        if method.kind != "function" or defn is None or defn.is_async or defn.is_generator or method.self_ref:
            return UNKNOWN
        result = awaits_to(defn.returns_annotation)
        if result is not None:
            declared = defn._replace(returns_annotation=result)
            found = self._declared(method.replace(defn=declared))
            return found.replace(origin=None) if found.kind == "instance" else UNKNOWN
        if method.path.startswith("<stubs>/") or defn.returns_annotation or len(defn.returns) != 1 or not defn.params:
            return UNKNOWN
        ref = defn.returns[0]
        if not (
            len(ref) == 5
            and ref[0] == f"n:{defn.params[0]}"
            and ref[1][:1] == "."
            and ref[2:] == ("()", ".__await__", "()")
        ):
            return UNKNOWN
        delegate = self._member(value, ref[1][1:])  # `self._connect().__await__()`
        if delegate.kind != "function" or delegate.self_ref:
            return UNKNOWN
        made = self.call(delegate)
        return self.awaited(made) if made.kind == "coroutine" else UNKNOWN

    def _result(self, effective: Value) -> Value:
        """What a def's body returns (a sync def's call, an async def's await), or what it declares."""
        assert effective.defn is not None
        defn = effective.defn
        facts = self.index.facts(effective.module)
        if facts is None:
            return UNKNOWN
        annotation = defn.returns_annotation
        if facts.is_stub_file:
            return self._stub_result(effective)
        if annotation and may_declare_awaitable(annotation):
            # declared awaitable (or Any): trust the declaration, and a declared coroutine is one
            return Value("coroutine", origin=effective, resolver=self) if declares_coroutine(annotation) else UNKNOWN
        aliased = self._awaitable_alias(effective) if annotation else None
        if aliased is not None:  # the same through a type alias (`-> MaybeAwaitable`)
            return aliased
        is_method = "." in defn.qualname.replace(".<locals>.", "")
        if (defn.is_stub and is_method) or defn.is_abstract:
            # a body of `...`, `pass` or a docstring declares its result, as a type checker trusts it; through
            # `self` it is a hook that a subclass fills in (``_method`` says nothing there)
            return self._declared(effective) if annotation else UNKNOWN
        if is_method and self._delegates_to_self(effective.module, defn):
            return UNKNOWN  # a command layer shared by a sync and an async client: the client decides
        results = [self._value(effective.module, defn.qualname, ref) for ref in defn.returns]
        if not results:
            return Value("plain", origin=effective, resolver=self)
        if defn.returns_param:  # a result that depends on the caller, unless a plain type is declared
            if any(r.awaitable() is True for r in results):  # `return coro if running else self`
                return Value("awaitable", origin=effective, resolver=self)
            return self._declared(effective) if annotation else UNKNOWN
        if annotation and all(r is NONE for r in results):
            return self._declared(effective)  # an attribute assigned only `None` here: the declaration says more
        verdicts = [r.awaitable() for r in results]
        if any(v is True for v in verdicts):
            merged = self._merge(results)
            if merged.kind == "instance" and all(r.kind == "instance" for r in results):
                # `return Connection(...)`, a class with `__await__`: the instance, for what awaiting it gives
                through = self._through_self(defn, results) if is_method else ()
                return merged.replace(origin=effective, via_property=False, overridable=through)
            return Value("awaitable", origin=effective, resolver=self)
        if any(v is None for v in verdicts):
            # the body is not conclusive: a declared plain result type decides (`-> Manager`, `-> dict`)
            return self._declared(effective) if annotation else UNKNOWN
        merged = self._merge(results)
        through = self._through_self(defn, results) if is_method else ()
        if merged.kind in ("instance", "unknown") and annotation:
            # `if not isinstance(self.message, Message): raise ...; return self.message` with `-> Message`:
            # the body's value (the attribute's declared base class) is wider than what the def declares;
            # `return None` here and `return Context()` there, with `-> Context | None`: the declaration says it;
            # `return self.local[slug]` (an `Installed`) with `-> Installed | Available`: the declared union says it
            declared = self._declared(effective)
            if declared.kind in ("instance", "union"):
                return declared.replace(overridable=through)
            if declares_union(annotation):
                return UNKNOWN  # a member is unknown: the body's one class is not what callers are promised
        if merged.kind == "instance":
            return Value(
                "instance",
                module=merged.module,
                path=merged.path,
                defn=merged.defn,
                origin=effective,
                overridable=through,
                resolver=self,
            )
        if merged.kind == "many":
            return merged.replace(origin=effective, overridable=through)
        if merged.kind == "builtin":  # `return object()`: neither awaitable, a context manager nor async-iterable
            return Value("builtin", name=merged.name, origin=effective, overridable=through, resolver=self)
        if merged.kind in ("gen", "asyncgen", "sync-cm", "async-cm"):
            return Value(merged.kind, origin=merged.origin or effective, overridable=through, resolver=self)
        return Value("plain", origin=effective, overridable=through, resolver=self)

    @staticmethod
    def _through_self(defn: DefFact, results: list[Value]) -> tuple[str, ...]:
        """The methods a method's result comes from through `self.name(...)` (and theirs, recursively)."""
        first = f"n:{defn.params[0]}" if defn.params else ""
        names = [
            ref[1][1:]
            for ref in defn.returns
            if ref[:1] == (first,) and len(ref) > 2 and is_call(ref[2]) and ref[1][:1] == "."
        ]
        for result in results:
            names.extend(result.overridable)
        return tuple(dict.fromkeys(names))

    def _delegates_to_self(self, module: str, defn: DefFact) -> bool:
        """Whether a method returns the unknown result of a call through `self` (or `cls`).

        redis-py's search commands are shared by its sync and async clients, typed with the sync
        result (`def suglen(self, key) -> int: return self.execute_command(...)`), and the client
        supplies `execute_command`: on the async one the result is a coroutine, so the declared type
        says nothing about what the caller gets.
        """
        if not defn.params:
            return False
        first = f"n:{defn.params[0]}"
        return any(
            # `self.execute_command(...)`: not `cls(...)` (a constructor, declared by the def), nor a call on an
            # attribute (`self.store.get(...)`: another object's method, which the client does not supply)
            len(ref) == 3
            and ref[0] == first
            and ref[1][:1] == "."
            and is_call(ref[2])
            and self._value(module, defn.qualname, ref).awaitable() is None
            for ref in defn.returns
        )
