"""Docs, code and fixtures in step: generated rule pages and index, each rule's examples, links, hook ids.

The rule pages (``docs/rules/``) and the README's rule index are generated from each rule's ``RuleMeta``
(``awaitguard.rules._docs``). After editing a rule's ``doc``, ``summary`` or ``hooks``, regenerate them with
``AWAITGUARD_UPDATE_DOCS=1 python -m pytest tests/test_docs.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import awaitguard
from awaitguard.report.sarif import help_uri
from awaitguard.rules import CODES
from awaitguard.rules._docs import PAGES, page_path, rule_pages, rules_index
from conftest import GitRepo

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
UPDATE = os.environ.get("AWAITGUARD_UPDATE_DOCS") == "1"
STALE = "run AWAITGUARD_UPDATE_DOCS=1 python -m pytest tests/test_docs.py"
START, END = "<!-- rules:start -->\n", "<!-- rules:end -->"
BLOCK = re.compile(r"^## (Example|Use instead)\n\n```python\n(.*?)^```", re.S | re.M)
# a rule that needs a project policy shows it under Options (written as both examples' pyproject.toml)
OPTIONS = re.compile(r"^## Options\n\n(?:.*?\n\n)?```toml\n(.*?)^```", re.S | re.M)
HEADINGS = ("What it does", "Why is this bad?", "Example", "Use instead")
OPTIONAL = ("Known problems", "Options", "References")  # STYLE.md section 5: the only optional headings
MAX_README_LINES = 300
FIRST_SCREEN = 60  # lines: what a newcomer sees before scrolling far
# rules that need a [tool.awaitguard.policy] (rules/policy.py): their examples carry it under Options
POLICY_CODES = frozenset({"AG108", "AG109", "AG203"})
# AG105 needs a change to show: the module its example imports from, before the change
AG105_BEFORE = "def get_manager_async():\n    return 1\n\n\ndef get_manager():\n    return 1\n"
AG105_AFTER = "def get_manager():\n    return 1\n"


# --- generated: the rule pages and the README index ----------------------------------------------------


def test_readme_rule_index_is_generated_from_the_rules() -> None:
    text = README.read_text(encoding="utf-8")
    head, found, rest = text.partition(START)
    assert found, "README needs the <!-- rules:start --> marker"
    _, _, tail = rest.partition(END)
    fresh = f"{head}{START}{rules_index()}{END}{tail}"
    if UPDATE:
        README.write_text(fresh, encoding="utf-8", newline="\n")
        text = README.read_text(encoding="utf-8")
    assert text == fresh, f"README rule index is stale: {STALE}"


def test_rule_pages_are_generated_from_the_rules() -> None:
    expected = rule_pages()
    folder = ROOT / PAGES
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in set(folder.glob("*.md")) - {ROOT / rel for rel in expected}:
            stale.unlink()
        for rel, text in expected.items():
            (ROOT / rel).write_text(text, encoding="utf-8", newline="\n")
    on_disk = {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in folder.iterdir()}
    assert set(on_disk) == set(expected), f"docs/rules/ holds other files than the generator writes: {STALE}"
    for rel, text in expected.items():
        assert on_disk[rel] == text, f"{rel} is stale: {STALE}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_rule_has_a_page_an_index_line_and_the_standard_sections(code: str) -> None:
    meta = CODES[code]
    assert meta.summary and "\n" not in meta.summary, f"{code}: RuleMeta.summary is one line for the index"
    assert set(meta.hooks) <= {"scan", "mypy", "smoke"} and "scan" in meta.hooks
    assert (ROOT / page_path(code)).is_file()
    readme = README.read_text(encoding="utf-8")
    assert len([line for line in readme.splitlines() if f"[{code}]({page_path(code)})" in line]) == 1
    headings = re.findall(r"^\*\*(.+)\*\*$", meta.doc, re.M)
    assert [h for h in headings if h in HEADINGS] == list(HEADINGS), f"{code}: doc needs {HEADINGS}, in order"
    others = [h for h in headings if h not in HEADINGS]
    assert all(h in OPTIONAL for h in others), f"{code}: the only optional sections are {OPTIONAL}, not {others}"
    assert meta.doc.count("```") % 2 == 0, f"{code}: an unclosed code fence swallows what follows"


def test_sarif_help_uri_names_each_rule_page() -> None:
    for code in CODES:
        assert help_uri(code).endswith(f"/{page_path(code)}")


# --- the examples on the rule pages, run through the scanner --------------------------------------------


def page_blocks(code: str) -> dict[str, str]:
    """The Example and Use instead blocks of ``code``'s page, as published in ``docs/rules/``."""
    found = dict(BLOCK.findall((ROOT / page_path(code)).read_text(encoding="utf-8")))
    assert set(found) == {"Example", "Use instead"}, f"{code}: its page needs an Example and a Use instead block"
    return found


@pytest.mark.parametrize("code", sorted(c for c in CODES if c != "AG105"))
def test_rule_examples_report_exactly_their_code(code: str, tmp_path: Path) -> None:
    docs = page_blocks(code)
    bad, good = tmp_path / "bad", tmp_path / "good"
    for folder, body in ((bad, docs["Example"]), (good, docs["Use instead"])):
        folder.mkdir()
        (folder / "example.py").write_text(body, encoding="utf-8")
        for options in OPTIONS.findall((ROOT / page_path(code)).read_text(encoding="utf-8")):
            (folder / "pyproject.toml").write_text(options, encoding="utf-8")
    assert {f.code for f in awaitguard.scan(bad)} == {code}
    assert awaitguard.scan(good) == []


def test_ag105_examples(git_repo: GitRepo) -> None:
    docs = page_blocks("AG105")
    git_repo.write("example.py", AG105_BEFORE)
    git_repo.write("bad.py", docs["Example"])
    git_repo.write("good.py", docs["Use instead"])
    git_repo.commit("before")
    git_repo.write("example.py", AG105_AFTER)
    git_repo.git("add", "example.py")
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "scan", "--no-cache"],
        cwd=git_repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    reported = {
        line.split(" ")[0].rsplit(":", 2)[0] + " " + line.split(" ")[1]
        for line in proc.stdout.splitlines()
        if line and not line.startswith(" ")
    }
    assert reported == {"bad.py:1 AG105"}


def test_rule_examples_through_the_mypy_hook_match_the_pages_reported_by(tmp_path: Path) -> None:
    """A page that says `awaitguard mypy` reports its rule is true of its own Example, and the Use instead is clean.

    One mypy run over every example: each becomes module ``<code>_bad``/``<code>_good`` (the patch targets
    that name ``example.`` follow the module's new name).
    """
    for code in CODES:
        if code == "AG105":  # needs a change to exist; the mypy hook does not report it
            assert "mypy" not in CODES[code].hooks
            continue
        if code in POLICY_CODES:  # need their own pyproject.toml: tests/test_policy_mypy.py runs them
            continue
        for kind, body in page_blocks(code).items():
            module = f"{code.lower()}_{'bad' if kind == 'Example' else 'good'}"
            (tmp_path / f"{module}.py").write_text(body.replace('"example.', f'"{module}.'), encoding="utf-8")
    files = sorted(path.name for path in tmp_path.glob("*.py"))
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "mypy", "--cache-dir", str(tmp_path / ".mypy_cache"), *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    reported = set(re.findall(r"^(ag\d+_(?:bad|good))\.py:\d+:\d+: (AG\d+)", proc.stdout, re.M))
    expected = {
        (f"{code.lower()}_bad", code)
        for code, meta in CODES.items()
        if "mypy" in meta.hooks and code not in POLICY_CODES
    }
    assert reported == expected, proc.stdout


# --- the README and the docs as a reader meets them ------------------------------------------------------


def test_readme_is_short_and_shows_install_snippet_and_rules_on_the_first_screen() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    first = "\n".join(lines[:FIRST_SCREEN])
    assert "## What it catches" in first and END in first, "the rule index belongs on the first screen"
    assert "id: awaitguard-scan" in first and "pip install" in first, "install and the snippet belong there too"


def markdown_files() -> list[Path]:
    return [README, ROOT / "CONTRIBUTING.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(path: Path) -> None:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = []
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        resolved = (path.parent / target).resolve() if target else path
        if not resolved.exists() or not resolved.is_relative_to(ROOT):
            broken.append(link)
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            broken.append(link)
    assert broken == [], f"{path.relative_to(ROOT)}: broken links {broken}"


def test_every_docs_page_is_linked_from_the_readme_or_another_page() -> None:
    linked = set()
    for path in markdown_files():
        for link in re.findall(r"\]\(([^)\s#]+)", path.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+:", link):
                linked.add((path.parent / link).resolve())
    pages = {path.resolve() for path in (ROOT / "docs").rglob("*.md")}
    assert sorted(str(p.relative_to(ROOT)) for p in pages - linked) == []


def test_every_hook_id_is_in_the_readme() -> None:
    hooks = re.findall(r"^- id: (\S+)", (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"), re.M)
    readme = README.read_text(encoding="utf-8")
    assert hooks and all(f"id: {hook}" in readme for hook in hooks)


def test_ci_runs_the_readme_test_command() -> None:
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\n```sh\n(.+?)\n```", readme, re.S)
    assert match is not None, "README needs the test command block"
    command = match.group(1).strip().splitlines()[-1]
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
