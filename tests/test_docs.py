"""Docs, code and fixtures in step: the README rules section, each rule's examples, hook ids, commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import awaitguard
from awaitguard.rules import CODES, rules_markdown
from conftest import GitRepo

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- rules:start -->\n", "<!-- rules:end -->"
BLOCK = re.compile(r"\*\*(Example|Use instead)\*\*\n\n```python\n(.*?)```", re.S)
# AG105 needs a change to show: the module its example imports from, before the change
AG105_BEFORE = "def get_manager_async():\n    return 1\n\n\ndef get_manager():\n    return 1\n"
AG105_AFTER = "def get_manager():\n    return 1\n"


def test_readme_rules_section_is_generated_from_the_rule_docs() -> None:
    text = README.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    fresh = f"{head}{START}{rules_markdown()}{END}{tail}"
    if os.environ.get("AWAITGUARD_UPDATE_DOCS") == "1":
        README.write_text(fresh, encoding="utf-8")
    assert text == fresh, "README rules section is stale: run AWAITGUARD_UPDATE_DOCS=1 pytest tests/test_docs.py"


def blocks(code: str) -> dict[str, str]:
    found = {kind: body for kind, body in BLOCK.findall(CODES[code].doc)}
    assert set(found) == {"Example", "Use instead"}, f"{code}: doc needs an Example and a Use instead block"
    return found


@pytest.mark.parametrize("code", sorted(c for c in CODES if c != "AG105"))
def test_rule_examples_report_exactly_their_code(code: str, tmp_path: Path) -> None:
    docs = blocks(code)
    bad, good = tmp_path / "bad", tmp_path / "good"
    for folder, body in ((bad, docs["Example"]), (good, docs["Use instead"])):
        folder.mkdir()
        (folder / "example.py").write_text(body, encoding="utf-8")
    assert {f.code for f in awaitguard.scan(bad)} == {code}
    assert awaitguard.scan(good) == []


def test_ag105_examples(git_repo: GitRepo) -> None:
    docs = blocks("AG105")
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
