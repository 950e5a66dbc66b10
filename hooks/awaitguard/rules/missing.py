"""AG105 a definition that this change deleted or renamed, still used elsewhere."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal, NamedTuple

from awaitguard.findings import Finding, Related
from awaitguard.model import ModuleFacts
from awaitguard.rules._base import RuleMeta

if TYPE_CHECKING:
    from awaitguard.resolve import Resolver

AG105 = RuleMeta(
    code="AG105",
    slug="missing-definition",
    template="`{name}` is no longer defined in `{module}` ({change}); this line still imports it "
    "and raises ImportError",
    fix="{fix}",
    summary="an import of a definition that the change deleted or renamed",
    hooks=("scan",),
    doc="""\
**What it does**

In a diff-scoped scan, finds imports of a function or class that the change deleted or renamed
in its module, in files the change did not touch; and imports of a name a module re-exported (it
imported it at its top) that the change stopped importing there, or whose module it deleted or moved.

**Why is this bad?**

The importing module fails when it is first imported, at start-up or, for a local import, only
on the code path that reaches it:
`ImportError: cannot import name 'get_manager' from 'app.ws.factory'`.

**Example**

```python
from example import get_manager_async
```

**Use instead**

```python
from example import get_manager
```

**Known problems**

Only reported for definitions the change removed (a full scan does not look for imports of
names that never existed; use a type checker or your tests for those). Attribute access through
the module (`factory.get_manager`) is not checked.
""",
)

META = (AG105,)
KINDS: frozenset[str] = frozenset()


Gone = Literal["deleted", "renamed", "module-deleted", "module-moved"]


class Removal(NamedTuple):
    """A top-level definition a change removed, as ``impact.compare`` found it: where it was, and
    what became of it (``to``: the new name when renamed, the new module when its module moved)."""

    path: str
    line: int
    how: Gone
    to: str = ""


def _change(removal: Removal) -> str:
    if removal.how == "renamed":
        return f"renamed to `{removal.to}`"
    if removal.how == "module-moved":
        return f"its module moved to `{removal.to}`"
    if removal.how == "module-deleted":
        return "its module was deleted or moved"
    return "deleted"


def check_removed(
    resolver: Resolver, facts: ModuleFacts, removed: Mapping[tuple[str, str], Removal]
) -> Iterator[Finding]:
    """``removed`` maps (module, name) to what the change did to the definition."""
    for imp in facts.imports:
        if imp.attr is None:
            continue
        key = (imp.module, imp.attr)
        if key not in removed or resolver.module_binds(imp.module, imp.attr):
            continue
        removal = removed[key]
        if removal.how == "renamed":
            fix = f"import `{removal.to}` instead"
        else:
            fix = f"remove the import, or restore `{imp.attr}` in `{imp.module}`"
        yield Finding.make(
            facts.path,
            imp.line,
            1,  # imports are recorded by line: the finding points at the statement
            AG105.code,
            {"name": imp.attr, "module": imp.module, "change": _change(removal), "fix": fix},
            [Related(removal.path, removal.line, 1, f"`{imp.attr}` was defined here before this change")],
            impact=True,
        )
