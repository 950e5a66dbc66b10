"""Where code and tests live: source roots from the layout and packaging metadata, test predicates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from awaitguard.layout import default_roots, is_test_code, is_test_file
from awaitguard.tree import FsTree


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def roots_of(root: Path) -> tuple[str, ...]:
    tree = FsTree(root)
    return default_roots(tree.files(), tree.read)


def test_flat_project_has_its_top_only(tmp_path: Path) -> None:
    write(tmp_path, {"app/__init__.py": "", "tests/test_app.py": "", "pyproject.toml": "[project]\nname='x'\n"})
    assert roots_of(tmp_path) == ("",)


def test_roots_from_layout_and_every_kind_of_metadata(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "src/top/__init__.py": "",
            "services/api/src/api/__init__.py": "",  # a sub-project's src layout, no metadata
            "services/api/src/notes.py": "",
            "pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "lib"}\n',
            "lib/core/__init__.py": "",
            "libs/found/pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["source"]\n',
            "libs/found/source/found/__init__.py": "",
            "libs/cfg/setup.cfg": "[options]\npackage_dir =\n    =py\n",
            "libs/cfg/py/cfg/__init__.py": "",
            "libs/where/setup.cfg": "[options.packages.find]\nwhere = code\n",
            "libs/where/code/w/__init__.py": "",
            "libs/poet/pyproject.toml": '[tool.poetry]\npackages = [{ include = "poet", from = "pkgs" }]\n',
            "libs/poet/pkgs/poet/__init__.py": "",
            "libs/hatch/pyproject.toml": '[tool.hatch.build.targets.wheel]\npackages = ["python/hatched"]\n',
            "libs/hatch/python/hatched/__init__.py": "",
            # a key written with an escape still counts (TOML is parsed unless no key read can be in the text)
            "libs/escaped/pyproject.toml": '[tool.setuptools]\n"\\u0070ackage-dir" = {"" = "esc"}\n',
            "libs/escaped/esc/e/__init__.py": "",
            # never roots: outside the project, broken metadata
            "libs/out/pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["../../.."]\n',
            "libs/out/x.py": "",
            "libs/bad/pyproject.toml": "[tool.setuptools\n",
            "libs/bad/x.py": "",
        },
    )
    assert roots_of(tmp_path) == (
        "",
        "lib",
        "libs/cfg/py",
        "libs/escaped/esc",
        "libs/found/source",
        "libs/hatch/python",
        "libs/poet/pkgs",
        "libs/where/code",
        "services/api/src",
        "src",
    )


def test_metadata_through_a_symlink_is_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_text('[tool.setuptools.packages.find]\nwhere = ["lib"]\n')
    project = tmp_path / "project"
    write(project, {"lib/pkg/__init__.py": ""})
    os.symlink(outside, project / "pyproject.toml")
    assert roots_of(project) == ("",)


def test_test_predicates() -> None:
    assert is_test_file("tests/test_app.py") and is_test_file("app_test.py")
    assert not is_test_file("tests/helpers.py") and not is_test_file("test_data.txt")
    assert is_test_code("tests/helpers.py") and is_test_code("pkg/conftest.py") and is_test_code("test_x.py")
    assert not is_test_code("app/testing_tools.py") and not is_test_code("app/contest.py")


MONOREPO = {
    "services/api/pyproject.toml": "[project]\nname = 'api'\n",
    "services/api/src/api/__init__.py": "",
    "services/api/src/api/factory.py": "def get_manager():\n    return object()\n",
    "services/api/src/api/routes.py": (
        "from api.factory import get_manager\n\n\n"
        "async def handler():\n    return await get_manager()  # expect: AG101\n"
    ),
}


def test_a_sub_projects_src_layout_is_resolved_by_every_hook(tmp_path: Path) -> None:
    """`from api.factory import ...` inside services/api/src resolves without configuration."""
    write(tmp_path, MONOREPO)
    proc = subprocess.run(
        [sys.executable, "-m", "awaitguard", "scan", "--all", "--no-cache", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    found = {(f["path"], f["line"], f["code"]) for f in json.loads(proc.stdout)["findings"]}
    assert found == {("services/api/src/api/routes.py", 5, "AG101")}, proc.stderr
