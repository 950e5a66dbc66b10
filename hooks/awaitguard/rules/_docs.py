"""The rule documentation, generated from each rule's ``RuleMeta``: a page per code and the README index.

``docs/rules/<CODE>.md`` and the README's rule index are this module's output, kept equal to it by
``tests/test_docs.py``. Regenerate both after editing a rule's ``doc``, ``summary`` or ``hooks``:
``AWAITGUARD_UPDATE_DOCS=1 python -m pytest tests/test_docs.py``.
"""

from __future__ import annotations

import re

from awaitguard.rules import CODES
from awaitguard.rules._base import RuleMeta

PAGES = "docs/rules"
HOOKS = {
    "scan": "`awaitguard scan` (from source, no annotations needed)",
    "mypy": "`awaitguard mypy` (as mypy error code `{slug}`)",
    "smoke": "`awaitguard smoke` (at run time, in your tests)",
}
_HEADING = re.compile(r"^\*\*(.+)\*\*$", re.MULTILINE)


def page_path(code: str) -> str:
    """The page of ``code``, relative to the repository root."""
    return f"{PAGES}/{code}.md"


def rule_page(meta: RuleMeta) -> str:
    """One rule's page: the lead, which hooks report it, then its ``doc`` with the bold labels as headings."""
    reported = "\n".join(f"- {HOOKS[hook].format(slug=meta.slug)}" for hook in meta.hooks)
    body = _HEADING.sub(r"## \1", meta.doc.strip())
    retired = f"Retired: use [{meta.retired_by}]({meta.retired_by}.md) instead.\n\n" if meta.retired_by else ""
    return (
        f"# {meta.code}: {meta.slug}\n\n"
        "<!-- generated from the rule's RuleMeta (awaitguard.rules._docs): edit the rule module, not this page -->\n\n"
        f"{retired}{_sentence(meta.summary)}\n\n"
        f"Reported by:\n\n{reported}\n\n"
        f"`# awaitguard: ignore[{meta.code}]` (or `# noqa: {meta.code}`) on a line silences it there, and "
        f'`ignore = ["{meta.code}"]` everywhere ([configuration](../../README.md#configuration)).\n\n'
        f"{body}\n\n"
        f"[All rules](README.md)\n"
    )


def rule_pages() -> dict[str, str]:
    """Every generated file under ``docs/rules/``, by path relative to the repository root."""
    pages = {page_path(code): rule_page(CODES[code]) for code in sorted(CODES)}
    pages[f"{PAGES}/README.md"] = "# Rules\n\n" + _index("{code}.md") + "\n[Back to the README](../../README.md)\n"
    return pages


def rules_index() -> str:
    """The README's rule index: one line per code, linking to its page."""
    return _index(page_path("{code}"))


def _index(link: str) -> str:
    rows = [
        f"| [{code}]({link.format(code=code)}) | `{meta.slug}` | {meta.summary} | {', '.join(meta.hooks)} |"
        for code, meta in sorted(CODES.items())
    ]
    return "| code | name | what it finds | reported by |\n| --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "." if text else ""
