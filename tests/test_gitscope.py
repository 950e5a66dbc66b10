"""gitscope against real git repositories in ``tmp_path`` (see the ``git_repo`` fixture in conftest)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from awaitguard import gitproc, gitscope
from awaitguard.gitscope import (
    GitError,
    GitTree,
    default_scope,
    git_available,
    list_files,
    range_scope,
    repo_root,
    staged_scope,
)
from awaitguard.model import FileChange, Scope
from awaitguard.tree import FsTree, WordFinder, walk, words_of

if TYPE_CHECKING:
    from conftest import GitRepo

SHALLOW = "run `git fetch --unshallow` or fetch with more depth"


def numbered(count: int, prefix: str = "line") -> str:
    return "".join(f"{prefix}_{i} = {i}\n" for i in range(1, count + 1))


# ------------------------------------------------------------------------------------------- staged_scope


def test_first_commit_has_no_base_and_every_line_is_added(git_repo: GitRepo) -> None:
    git_repo.write("app.py", "a = 1\nb = 2\nc = 3\n")
    git_repo.write("pkg/types.pyi", "def f() -> int: ...\n")
    git_repo.write("pkg/__init__.py", "")
    git_repo.write("README.txt", "not python\n")
    git_repo.git("add", "-A")

    assert staged_scope(git_repo.root) == Scope(
        mode="staged",
        base=None,
        target=None,
        changes=(
            FileChange("app.py", "A", None, frozenset({1, 2, 3})),
            FileChange("pkg/__init__.py", "A", None, frozenset()),
            FileChange("pkg/types.pyi", "A", None, frozenset({1})),
        ),
    )


def test_unstaged_edits_are_not_in_the_staged_scope(git_repo: GitRepo) -> None:
    git_repo.write("app.py", "a = 1\nb = 2\nc = 3\nd = 4\n")
    head = git_repo.commit()
    git_repo.write("app.py", "a = 1\nb = 20\nc = 3\nd = 4\n")
    git_repo.git("add", "app.py")
    git_repo.write("app.py", "a = 1\nb = 20\nc = 3\nd = 40\n")  # unstaged: line 4
    git_repo.write("scratch.py", "x = 1\n")  # untracked

    scope = staged_scope(git_repo.root)

    assert scope == Scope("staged", head, None, (FileChange("app.py", "M", None, frozenset({2})),))
    tree = GitTree(git_repo.root, None)
    assert tree.read(["app.py", "scratch.py"]) == {"app.py": b"a = 1\nb = 20\nc = 3\nd = 4\n"}
    assert list(tree.files()) == ["app.py"]


def test_modification_reports_exact_new_line_numbers(git_repo: GitRepo) -> None:
    old = [f"v{i} = {i}" for i in range(1, 11)]
    git_repo.write("mod.py", "\n".join(old) + "\n")
    git_repo.commit()
    new = [*old]
    new[2] = "v3 = 300"  # changed line 3
    new[6:6] = ["inserted_a = 1", "inserted_b = 2"]  # new lines 7 and 8
    del new[10]  # old line 9 (only removed: no new line)
    git_repo.write("mod.py", "\n".join(new) + "\n")
    git_repo.git("add", "mod.py")

    assert staged_scope(git_repo.root).changes == (FileChange("mod.py", "M", None, frozenset({3, 7, 8})),)


def test_rename_keeps_old_path_and_lines_of_the_edit(git_repo: GitRepo) -> None:
    git_repo.write("old_name.py", numbered(20))
    git_repo.write("moved.py", numbered(10, "m"))
    git_repo.commit()
    git_repo.git("mv", "old_name.py", "new_name.py")
    git_repo.write("new_name.py", numbered(20).replace("line_5 = 5", "line_5 = 50"))
    (git_repo.root / "pkg").mkdir()
    git_repo.git("mv", "moved.py", "pkg/moved.py")
    git_repo.git("add", "-A")

    assert staged_scope(git_repo.root).changes == (
        FileChange("new_name.py", "R", "old_name.py", frozenset({5})),
        FileChange("pkg/moved.py", "R", "moved.py", frozenset()),
    )


def test_deletion_has_the_old_path_and_no_lines(git_repo: GitRepo) -> None:
    git_repo.write("gone.py", "x = 1\n")
    git_repo.write("kept.py", "y = 1\n")
    git_repo.commit()
    git_repo.git("rm", "-q", "gone.py")

    assert staged_scope(git_repo.root).changes == (FileChange("gone.py", "D", None, frozenset()),)


def test_detached_head(git_repo: GitRepo) -> None:
    git_repo.write("a.py", "a = 1\n")
    git_repo.commit()
    git_repo.git("checkout", "-q", "-b", "topic")
    git_repo.write("b.py", "b = 1\nb2 = 2\n")
    topic = git_repo.commit()
    git_repo.git("checkout", "-q", "--detach", "topic")
    git_repo.write("a.py", "a = 2\n")
    git_repo.git("add", "a.py")

    detached = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=git_repo.root, check=False)
    assert detached.returncode == 1
    assert staged_scope(git_repo.root) == Scope("staged", topic, None, (FileChange("a.py", "M", None, frozenset({1})),))
    scope = range_scope(git_repo.root, "main")
    assert (scope.base, scope.target) == (git_repo.sha("main"), topic)
    assert scope.changes == (FileChange("b.py", "A", None, frozenset({1, 2})),)


def test_conflicted_merge_lists_staged_changes_and_skips_unmerged_paths(git_repo: GitRepo) -> None:
    git_repo.write("conflict.py", "x = 1\n")
    git_repo.commit()
    git_repo.git("checkout", "-q", "-b", "topic")
    git_repo.write("conflict.py", "x = 2\n")
    git_repo.write("clean.py", "c = 1\n")
    git_repo.commit()
    git_repo.git("checkout", "-q", "main")
    git_repo.write("conflict.py", "x = 3\n")
    head = git_repo.commit()
    merge = subprocess.run(["git", "merge", "-q", "topic"], cwd=git_repo.root, capture_output=True, check=False)
    assert merge.returncode == 1

    assert staged_scope(git_repo.root) == Scope(
        "staged", head, None, (FileChange("clean.py", "A", None, frozenset({1})),)
    )
    tree = GitTree(git_repo.root, None)
    assert list(tree.files()) == ["clean.py"]
    assert tree.read(["conflict.py", "clean.py"]) == {"clean.py": b"c = 1\n"}
    assert list_files(git_repo.root) == ["clean.py", "conflict.py"]


def test_paths_with_spaces_non_ascii_and_quoted_characters(git_repo: GitRepo) -> None:
    git_repo.write("dir with space/módulo ü.py", "a = 1\n")
    git_repo.write("tab\there.py", 'b = "x"\n')
    git_repo.write('quote"d.py', "c = 1\n")
    git_repo.write("old name.py", numbered(12))
    git_repo.commit()
    git_repo.write("dir with space/módulo ü.py", "a = 1\nget_manager = 2\n")
    git_repo.write("tab\there.py", 'b = "y"\n')
    git_repo.write('quote"d.py', "c = 2\n")
    git_repo.git("mv", "old name.py", "new näme.py")
    git_repo.write("new näme.py", numbered(12).replace("line_1 = 1", "line_1 = 100"))
    git_repo.git("add", "-A")

    assert staged_scope(git_repo.root).changes == (
        FileChange("dir with space/módulo ü.py", "M", None, frozenset({2})),
        FileChange("new näme.py", "R", "old name.py", frozenset({1})),
        FileChange('quote"d.py', "M", None, frozenset({1})),
        FileChange("tab\there.py", "M", None, frozenset({1})),
    )
    expected_files = ["dir with space/módulo ü.py", "new näme.py", 'quote"d.py', "tab\there.py"]
    assert list_files(git_repo.root) == expected_files
    tree = GitTree(git_repo.root, None)
    assert sorted(tree.files()) == expected_files
    assert tree.read(["dir with space/módulo ü.py", "tab\there.py"]) == {
        "dir with space/módulo ü.py": b"a = 1\nget_manager = 2\n",
        "tab\there.py": b'b = "y"\n',
    }
    assert tree.grep({"get_manager"}) == {"dir with space/módulo ü.py"}


def test_crlf_file(git_repo: GitRepo) -> None:
    git_repo.write("win.py", b"a = 1\r\nb = 2\r\nc = 3\r\n")
    git_repo.commit()
    git_repo.write("win.py", b"a = 1\r\nb = 22\r\nc = 3\r\n")
    git_repo.git("add", "win.py")

    assert staged_scope(git_repo.root).changes == (FileChange("win.py", "M", None, frozenset({2})),)
    assert GitTree(git_repo.root, None).read(["win.py"]) == {"win.py": b"a = 1\r\nb = 22\r\nc = 3\r\n"}
    assert GitTree(git_repo.root, "HEAD").read(["win.py"]) == {"win.py": b"a = 1\r\nb = 2\r\nc = 3\r\n"}


# -------------------------------------------------------------------------------------------- range_scope


def test_range_uses_the_merge_base_like_three_dots(git_repo: GitRepo) -> None:
    git_repo.write("shared.py", "s = 1\n")
    fork = git_repo.commit()
    git_repo.git("checkout", "-q", "-b", "topic")
    git_repo.write("feature.py", "f = 1\nf2 = 2\n")
    git_repo.write("shared.py", "s = 1\ns2 = 2\n")
    topic = git_repo.commit()
    git_repo.git("checkout", "-q", "main")
    git_repo.write("upstream_only.py", "u = 1\n")
    git_repo.commit()

    assert range_scope(git_repo.root, "main", "topic") == Scope(
        "range",
        fork,
        topic,
        (
            FileChange("feature.py", "A", None, frozenset({1, 2})),
            FileChange("shared.py", "M", None, frozenset({2})),
        ),
    )


def test_range_over_a_merge_commit_leaves_out_what_the_merge_brought_in(git_repo: GitRepo) -> None:
    git_repo.write("base.py", "b = 1\n")
    git_repo.commit()
    git_repo.git("checkout", "-q", "-b", "topic")
    git_repo.write("feature.py", "f = 1\n")
    git_repo.commit()
    git_repo.git("checkout", "-q", "main")
    git_repo.write("base.py", "b = 1\nb2 = 2\n")
    git_repo.write("upstream.py", "u = 1\n")
    main_tip = git_repo.commit()
    git_repo.git("checkout", "-q", "topic")
    git_repo.git("merge", "-q", "--no-edit", "--no-gpg-sign", "main")
    merge = git_repo.sha()
    assert len(git_repo.git("rev-list", "--parents", "-n", "1", "HEAD").split()) == 3  # a real merge

    scope = range_scope(git_repo.root, "main")
    assert scope == Scope("range", main_tip, merge, (FileChange("feature.py", "A", None, frozenset({1})),))


def test_range_with_unknown_revision(git_repo: GitRepo) -> None:
    git_repo.write("a.py", "a = 1\n")
    git_repo.commit()

    with pytest.raises(GitError) as excinfo:
        range_scope(git_repo.root, "xyz")
    assert str(excinfo.value) == "unknown revision `xyz`"
    with pytest.raises(GitError) as excinfo:
        range_scope(git_repo.root, "--output=/tmp/x")
    assert str(excinfo.value) == "unknown revision `--output=/tmp/x`"


def test_range_without_common_history(git_repo: GitRepo) -> None:
    git_repo.write("a.py", "a = 1\n")
    git_repo.commit()
    git_repo.git("checkout", "-q", "--orphan", "other")
    git_repo.commit("unrelated")

    with pytest.raises(GitError) as excinfo:
        range_scope(git_repo.root, "main", "other")
    assert str(excinfo.value) == "`main` and `other` have no common history; pass a base on the same branch"


@pytest.fixture
def upstream(git_repo: GitRepo) -> GitRepo:
    """main: A - B - C, topic forks at A with one commit."""
    git_repo.write("a.py", "a = 1\n")
    git_repo.commit("A")
    git_repo.git("branch", "topic")
    for name in ("B", "C"):
        git_repo.write(f"{name.lower()}.py", f"{name} = 1\n")
        git_repo.commit(name)
    git_repo.git("checkout", "-q", "topic")
    git_repo.write("t.py", "t = 1\n")
    git_repo.commit("T")
    git_repo.git("checkout", "-q", "main")
    return git_repo


def _clone(source: GitRepo, *args: str) -> Path:
    dest = source.root.parent / "clone"
    source.git("clone", "-q", "--depth", "1", *args, f"file://{source.root}", str(dest))
    return dest


def test_shallow_clone_without_the_base(upstream: GitRepo) -> None:
    clone = _clone(upstream, "--single-branch", "--branch", "topic")

    with pytest.raises(GitError) as excinfo:
        range_scope(clone, "origin/main")
    assert str(excinfo.value) == f"base revision `origin/main` is not in this shallow clone; {SHALLOW}"


def test_shallow_clone_without_the_merge_base(upstream: GitRepo) -> None:
    clone = _clone(upstream, "--no-single-branch", "--branch", "topic")

    with pytest.raises(GitError) as excinfo:
        range_scope(clone, "origin/main")
    message = f"the merge base of `origin/main` and `HEAD` is not in this shallow clone; {SHALLOW}"
    assert str(excinfo.value) == message


def test_shallow_clone_with_enough_history_works(upstream: GitRepo) -> None:
    clone = _clone(upstream, "--single-branch", "--branch", "main")

    scope = range_scope(clone, "HEAD", "HEAD")
    assert (scope.base, scope.target, scope.changes) == (upstream.sha("main"), upstream.sha("main"), ())


# ------------------------------------------------------------------------------------------ default_scope


def test_default_scope_choices(upstream: GitRepo) -> None:
    root = upstream.root
    upstream.write("a.py", "a = 2\n")
    upstream.git("add", "a.py")
    fork = upstream.sha("main~2")
    topic_change = (FileChange("t.py", "A", None, frozenset({1})),)
    main_change = tuple(FileChange(path, "A", None, frozenset({1})) for path in ("b.py", "c.py"))

    pre_push = {"PRE_COMMIT_FROM_REF": "main", "PRE_COMMIT_TO_REF": "topic"}
    assert default_scope(root, None, pre_push) == Scope("range", fork, upstream.sha("topic"), topic_change)
    legacy = {"PRE_COMMIT_SOURCE": "main", "PRE_COMMIT_ORIGIN": "topic"}
    assert default_scope(root, None, legacy) == Scope("range", fork, upstream.sha("topic"), topic_change)
    assert default_scope(root, "topic", pre_push) == Scope("range", fork, upstream.sha("main"), main_change)
    staged = Scope("staged", upstream.sha("main"), None, (FileChange("a.py", "M", None, frozenset({1})),))
    assert default_scope(root, None, {"PRE_COMMIT_FROM_REF": "main"}) == staged
    assert default_scope(root, None, {}) == staged


# --------------------------------------------------------------------------------------------- list_files


def test_list_files_tracked_untracked_ignored_deleted(git_repo: GitRepo) -> None:
    git_repo.write(".gitignore", "build/\n*.gen.py\n")
    git_repo.write("src/app.py", "a = 1\n")
    git_repo.write("src/deleted.py", "d = 1\n")
    git_repo.write("stubs/app.pyi", "a: int\n")
    git_repo.write("setup.cfg", "[x]\n")
    git_repo.commit()
    (git_repo.root / "src/deleted.py").unlink()
    git_repo.write("new_untracked.py", "n = 1\n")
    git_repo.write("build/lib/copy.py", "c = 1\n")
    git_repo.write("src/made.gen.py", "g = 1\n")

    assert list_files(git_repo.root) == ["new_untracked.py", "src/app.py", "stubs/app.pyi"]


def test_an_environment_kept_in_the_project_is_not_its_code(git_repo: GitRepo) -> None:
    """`python -m venv .venv` (3.12 and older write no .gitignore into it) or a conda env, not ignored."""
    git_repo.write("app.py", "a = 1\n")
    git_repo.commit()
    git_repo.write(".venv/pyvenv.cfg", "home = /usr/bin\n")
    git_repo.write(".venv/lib/python3.11/site-packages/trio/_tests/test_x.py", "t = 1\n")
    git_repo.write(".venv/bin/tool.py", "t = 1\n")
    git_repo.write("envs/conda/conda-meta/history", "")
    git_repo.write("envs/conda/lib/python3.12/os.py", "o = 1\n")
    git_repo.write("vendor/site-packages/pkg/mod.py", "m = 1\n")
    git_repo.write("tools/new_script.py", "s = 1\n")

    assert list_files(git_repo.root) == ["app.py", "tools/new_script.py"]
    assert walk(git_repo.root) == ["app.py", "tools/new_script.py"]  # without git, the same


def test_submodule_contents_are_never_listed(git_repo: GitRepo) -> None:
    library = git_repo.sibling("library")
    library.write("inner.py", "get_manager = 1\n")
    library.commit()
    git_repo.write("app.py", "get_manager = 2\n")
    git_repo.commit()
    for where in ("sub", "odd.py"):  # a submodule whose path looks like a Python file, too
        git_repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library.root), where)

    assert staged_scope(git_repo.root).changes == ()
    git_repo.commit()
    git_repo.git("config", "submodule.recurse", "true")
    assert list_files(git_repo.root) == ["app.py"]
    for rev in (None, "HEAD"):
        tree = GitTree(git_repo.root, rev)
        assert list(tree.files()) == ["app.py"]
        assert tree.grep({"get_manager"}) == {"app.py"}
        assert tree.read(["sub/inner.py", "odd.py"]) == {}


def test_symlinks_are_not_python_files(git_repo: GitRepo) -> None:
    git_repo.write("real.py", "r = 1\n")
    first = git_repo.commit()
    (git_repo.root / "alias.py").symlink_to("real.py")
    second = git_repo.commit()

    assert range_scope(git_repo.root, first, second).changes == ()
    assert list(GitTree(git_repo.root, "HEAD").files()) == ["real.py"]
    (git_repo.root / "alias.py").unlink()
    git_repo.write("alias.py", "a = 1\na2 = 2\n")
    git_repo.git("add", "alias.py")
    assert staged_scope(git_repo.root).changes == (FileChange("alias.py", "A", None, frozenset({1, 2})),)
    assert list(GitTree(git_repo.root, None).files()) == ["alias.py", "real.py"]


def test_repo_root(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("pkg/mod.py", "x = 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()

    assert repo_root(git_repo.root / "pkg") == git_repo.root
    assert repo_root(git_repo.root / "pkg" / "mod.py") == git_repo.root
    assert repo_root(outside) is None


def test_not_a_repository(git_repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()

    for call in (staged_scope, list_files, lambda root: GitTree(root, None).read(["a.py"])):
        with pytest.raises(GitError) as excinfo:
            call(outside)
        assert str(excinfo.value) == f"not a git repository: {outside}"


def test_git_missing(git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_repo.write("a.py", "a = 1\n")
    git_repo.commit()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    assert git_available() is False
    assert repo_root(git_repo.root) is None
    calls: list[Any] = [
        staged_scope,
        list_files,
        lambda root: range_scope(root, "main"),
        lambda root: default_scope(root, None, {}),
        lambda root: GitTree(root, None).files(),
        lambda root: GitTree(root, None).read(["a.py"]),
        lambda root: GitTree(root, None).grep({"a"}),
        lambda root: GitTree(root, "HEAD"),
    ]
    for call in calls:
        with pytest.raises(GitError) as excinfo:
            call(git_repo.root)
        assert str(excinfo.value) == gitscope.NO_GIT
        assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


def test_never_writes_the_index_or_the_work_tree(grep_repo: GitRepo) -> None:
    root = grep_repo.root
    status = grep_repo.git("status", "--porcelain", "-z")
    os.utime(root / "a.py", ns=(1, 1))  # stale stat data: `git status` would rewrite the index
    index = root / ".git" / "index"
    index_bytes, index_mtime = index.read_bytes(), index.stat().st_mtime_ns
    objects = sorted(p.name for p in (root / ".git" / "objects").rglob("*"))

    staged_scope(root)
    range_scope(root, "HEAD")
    list_files(root)
    for rev in (None, "HEAD"):
        tree = GitTree(root, rev)
        tree.read(tree.files())
        tree.grep({"get_manager"})

    assert (index.read_bytes(), index.stat().st_mtime_ns) == (index_bytes, index_mtime)
    assert sorted(p.name for p in (root / ".git" / "objects").rglob("*")) == objects
    assert grep_repo.git("status", "--porcelain", "-z") == status


def test_git_available() -> None:
    assert git_available() is True


# ------------------------------------------------------------------------------------------------ GitTree


@pytest.fixture(autouse=True)
def no_shared_blobs() -> Iterator[None]:
    """Each test starts with no blob another test's trees read (they are shared by object id in a process)."""
    gitscope._SHARED.clear()
    gitscope._SHARED_WORDS.clear()
    yield
    gitscope._SHARED.clear()
    gitscope._SHARED_WORDS.clear()


def processes_started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command line of each process started from now on (a real process each: only counted)."""
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def counting_popen(args: list[str], *rest: Any, **kwargs: Any) -> Any:
        started.append(args)
        return real_popen(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", counting_popen)
    return started


@pytest.fixture
def grep_repo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("a.py", "x = get_manager_async()\n")
    git_repo.write("b.py", "x = get_manager()\n")
    git_repo.write("c.py", "y = get_manager_async(); z = get_manager\n")
    git_repo.write("notes.txt", "get_manager\n")
    git_repo.write("d.pyi", "def get_manager() -> int: ...\n")
    git_repo.commit()
    git_repo.write("b.py", "x = other()\n")
    git_repo.write("e.py", "from m import get_manager\n")
    git_repo.git("add", "b.py", "e.py")
    git_repo.write("a.py", "x = get_manager()\n")  # unstaged: the index still has only _async
    return git_repo


def test_grep_whole_words_in_the_index(grep_repo: GitRepo) -> None:
    tree = GitTree(grep_repo.root, None)

    assert tree.grep({"get_manager"}) == {"c.py", "d.pyi", "e.py"}
    assert tree.grep({"get_manager_async"}) == {"a.py", "c.py"}
    assert tree.grep({"manager"}) == set()
    assert tree.grep(set()) == set()


def test_grep_whole_words_in_a_revision(grep_repo: GitRepo) -> None:
    tree = GitTree(grep_repo.root, "HEAD")

    assert tree.grep({"get_manager"}) == {"b.py", "c.py", "d.pyi"}
    assert tree.grep({"other", "get_manager_async"}) == {"a.py", "c.py"}
    assert GitTree(grep_repo.root, grep_repo.sha()).grep({"get_manager"}) == {"b.py", "c.py", "d.pyi"}


@pytest.mark.parametrize("keep", [True, False])
def test_grep_whole_words_on_disk(grep_repo: GitRepo, keep: bool) -> None:
    """A tree that keeps its bytes answers from each file's words; one that does not searches the bytes: the same
    whole words, a word byte on either side (also a digit) hiding a name, and any other byte (`é`) not."""
    grep_repo.write("f.py", "é = 1\nnameé = get_manager2 + _get_manager\nvalue = éget_manager\n")
    tree = FsTree(grep_repo.root, keep=keep)

    assert tree.grep({"get_manager"}) == {"a.py", "c.py", "d.pyi", "e.py", "f.py"}
    assert tree.grep({"get_manager_async"}) == {"c.py"}
    assert tree.grep({"name", "other"}) == {"b.py", "f.py"}
    assert tree.grep({"manager", "x = get"}) == set()
    assert tree.grep({"nameé"}) == {"f.py"}  # not a word of ASCII bytes: its bytes are searched
    assert tree.grep(set()) == set()


def git_grep(repo: GitRepo, rev: str | None, words: set[str]) -> set[str]:
    """What `git grep -l -w -F` itself says (the reference): the Python files of the index or of ``rev``."""
    where = ["--cached"] if rev is None else [rev]
    patterns = [arg for word in sorted(words) for arg in ("-e", word)]
    out = subprocess.run(
        ["git", "grep", "-l", "-z", "-w", "-F", "--full-name", *patterns, *where, "--", "*.py", "*.pyi"],
        cwd=repo.root,
        capture_output=True,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    prefix = f"{rev}:" if rev else ""
    return {name.decode().removeprefix(prefix) for name in out.stdout.split(b"\0") if name}


@pytest.mark.parametrize("rev", [None, "HEAD"])
def test_grep_answers_from_the_bytes_as_git_grep_does(
    grep_repo: GitRepo, rev: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grep for words of ASCII word bytes reads the whole tree (a scan's searches read it anyway) and answers
    from its bytes, the same files as `git grep -w` (a word byte on either side hides a name, a non-ASCII byte
    does not), with no git process once every file is read; a word with other bytes still asks git."""
    grep_repo.write("f.py", "é = 1\nnameé = get_manager2 + _get_manager\nvalue = éget_manager\n")
    grep_repo.git("add", "f.py")
    if rev:
        grep_repo.commit()
    asked = ({"get_manager"}, {"get_manager_async"}, {"name", "other"}, {"manager"}, {"nameé"}, {"x = get"})
    by_git = [git_grep(grep_repo, rev, words) for words in asked]
    assert "f.py" in by_git[0] and by_git[3] == set() and by_git[4] == {"f.py"}
    tree = GitTree(grep_repo.root, rev)
    assert tree.grep(asked[0]) == by_git[0]  # reads every file
    started = processes_started(monkeypatch)
    assert [tree.grep(words) for words in asked[:4]] == by_git[:4]
    assert started == []
    assert [tree.grep(words) for words in asked[4:]] == by_git[4:]
    assert [args[3] for args in started] == ["grep", "grep"]


@pytest.mark.parametrize("find_first", [0, 2, 16])
def test_word_finder_finds_then_makes_the_words(find_first: int) -> None:
    """The first words asked are found with ``holds_word`` (each once), the rest from each file's words, made
    when a scan asks more than ``find_first``: the same files either way."""
    data: dict[str, bytes | None] = {
        "a.py": b"x = get_manager()\n",
        "b.py": b"get_manager_async(); close()\n",
        "c.py": b"self.close = _close\n",
        "d.py": None,  # no blob there
    }
    made: list[str] = []

    def words(path: str) -> frozenset[bytes]:
        made.append(path)
        return words_of(data[path] or b"")

    finder = WordFinder(find_first)
    asked = [[b"get_manager"], [b"close"], [b"get_manager", b"close"], [b"_close", b"absent"], [b"get_manager_async"]]
    assert [finder.holding(data, data, words_asked, words) for words_asked in asked] == [
        {"a.py"},
        {"b.py", "c.py"},
        {"a.py", "b.py", "c.py"},
        {"c.py"},
        {"b.py"},
    ]
    # the words are made once, for every file, as soon as more words are asked than ``find_first``
    assert made == ([] if find_first >= 5 else list(data))


def test_grep_with_thousands_of_words(grep_repo: GitRepo) -> None:
    words = {f"name_{i}_{'x' * 20}" for i in range(5000)} | {"other"}

    assert GitTree(grep_repo.root, None).grep(words) == {"b.py"}
    assert GitTree(grep_repo.root, "HEAD").grep(words) == set()


def test_read_a_revision_and_missing_paths(grep_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths that are no regular file of the tree (missing, or a symlink, as ``FsTree.read`` leaves one out) are
    left out, and git is not asked for them."""
    tree = GitTree(grep_repo.root, "HEAD")

    assert list(tree.files()) == ["a.py", "b.py", "c.py", "d.pyi"]
    started = processes_started(monkeypatch)
    assert tree.read(["nope.py", "e.py", "src/pyproject.toml"]) == {}
    assert started == []
    assert tree.read(["b.py", "e.py", "nope.py", "notes.txt", "b.py"]) == {
        "b.py": b"x = get_manager()\n",
        "notes.txt": b"get_manager\n",
    }
    assert tree.read([]) == {}
    os.symlink("b.py", grep_repo.root / "link.py")
    grep_repo.git("add", "link.py")
    for rev in (None, grep_repo.commit()):
        linked = GitTree(grep_repo.root, rev)
        assert "link.py" not in linked.files() and linked.read(["link.py", "c.py"]).keys() == {"c.py"}
    with pytest.raises(GitError) as excinfo:
        GitTree(grep_repo.root, "no-such-branch")
    assert str(excinfo.value) == "unknown revision `no-such-branch`"


def test_reads_one_at_a_time_share_one_running_git(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolution asks for modules one at a time: one `git cat-file --batch` kept running answers them all
    (a blob bigger than a pipe's buffer too), each file is read once, and a path that is no blob is left out."""
    expected = {f"mod_{i}.py": f"value_{i} = {i}\n".encode() for i in range(30)}
    expected["big.py"] = b"x = 1\n" + b"z = 2\n" * 400_000
    for path, data in expected.items():
        git_repo.write(path, data)
    git_repo.git("add", "-A")
    git_repo.commit()
    git_repo.write("mod_0.py", "changed = 1\n")  # the work tree only: the index and HEAD keep the old bytes
    started = processes_started(monkeypatch)
    # HEAD: every blob is one the index's tree read already (``_SHARED``, by object id): no process at all
    for rev, processes in ((None, [["cat-file", "--batch"]]), ("HEAD", [])):
        tree = GitTree(git_repo.root, rev)
        tree.files()  # a scan lists the files first (read asks for the list: a path in none is never asked for)
        started.clear()
        for path in [*expected, "nope.py", "mod_1.py", "big.py"]:
            assert tree.read([path]) == ({path: expected[path]} if path in expected else {})
        assert tree.read(["mod_2.py", "nope.py"]) == {"mod_2.py": expected["mod_2.py"]}
        assert [args[-2:] for args in started] == processes
        assert tree.read(list(expected)) == expected  # all kept: no process of its own
        assert len(started) == len(processes)


def test_a_blob_two_trees_share_is_read_once(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A diff-scoped scan reads the index and HEAD: a file the commit does not change is the same blob in both,
    read by the first tree only; a changed file is read from each."""
    for i in range(12):
        git_repo.write(f"mod_{i}.py", f"value_{i} = {i}\n")
    git_repo.write("pkg/one.py", "x = 1\n")
    git_repo.commit()
    git_repo.write("mod_3.py", "value_3 = 'changed'\n")
    git_repo.git("add", "mod_3.py")
    index, head = GitTree(git_repo.root, None), GitTree(git_repo.root, "HEAD")
    assert len(index.files()) == len(head.files()) == 13
    in_index = index.read(index.files())
    started = processes_started(monkeypatch)
    asked: list[bytes] = []
    real_blob = gitproc.Reader.blob

    def counting_blob(reader: gitproc.Reader, spec: bytes) -> bytes | None:
        asked.append(spec)
        return real_blob(reader, spec)

    monkeypatch.setattr(gitproc.Reader, "blob", counting_blob)
    in_head = {path: blob for path in head.files() for path, blob in head.read([path]).items()}
    assert [args[-2:] for args in started] == [["cat-file", "--batch"]]
    assert [spec.rsplit(b":", 1)[1] for spec in asked] == [b"mod_3.py"]  # the one blob the trees do not share
    assert in_head == {**in_index, "mod_3.py": b"value_3 = 3\n"}
    assert in_index["mod_3.py"] == b"value_3 = 'changed'\n"
    assert head.grep({"value_3"}) == index.grep({"value_3"}) == {"mod_3.py"}
    assert len(started) == 1


def test_read_500_files_with_one_git_process(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {f"pkg{i % 7}/mod_{i}.py": f"value_{i} = {i}\n".encode() * (i % 5 + 1) for i in range(500)}
    expected["big.py"] = b"x = 1\n" + b"z = 2\n" * 400_000  # 2.4 MB, more than any pipe buffer
    for path, data in expected.items():
        git_repo.write(path, data)
    git_repo.git("add", "-A")
    for path in expected:  # the work tree no longer holds them: git answers for every one
        (git_repo.root / path).write_bytes(b"# edited\n")
    tree = GitTree(git_repo.root, None)
    assert len(tree.files()) == 501

    started = processes_started(monkeypatch)
    assert tree.read(tree.files()) == expected
    assert [args[-2:] for args in started] == [["cat-file", "--batch"]]


def test_files_the_work_tree_holds_unchanged_are_read_there(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A blob whose bytes the work tree holds is read from the file, and no git process starts; a file edited,
    deleted or replaced after it was staged is read from git, as is one behind a symlink (its target is never
    read: it may lie outside the repository)."""
    expected = {f"pkg/mod_{i}.py": f"value_{i} = {i}\n".encode() for i in range(20)}
    expected.update({"edited.py": b"staged = 1\n", "gone.py": b"gone = 1\n", "pkg/linked/m.py": b"linked = 1\n"})
    for path, data in expected.items():
        git_repo.write(path, data)
    git_repo.git("add", "-A")
    git_repo.commit()
    git_repo.write("edited.py", "staged = 2\n")  # not staged: the index and HEAD keep the old bytes
    (git_repo.root / "gone.py").unlink()
    outside = git_repo.root.parent / "outside"
    outside.mkdir()
    (outside / "m.py").write_bytes(expected["pkg/linked/m.py"])  # the same bytes, outside the repository
    (git_repo.root / "pkg" / "linked" / "m.py").unlink()
    (git_repo.root / "pkg" / "linked").rmdir()
    (git_repo.root / "pkg" / "linked").symlink_to(outside)
    oids = {path: git_repo.git("rev-parse", f":0:{path}").strip() for path in expected}
    on_disk = {path: data for path, data in expected.items() if path.startswith("pkg/mod_")}

    assert gitproc.WorkTree(git_repo.root).blobs(oids) == on_disk
    started = processes_started(monkeypatch)
    for rev in (None, "HEAD"):
        gitscope._SHARED.clear()
        tree = GitTree(git_repo.root, rev)
        tree.files()
        started.clear()
        assert tree.read(sorted(on_disk)) == on_disk
        assert started == []
        assert tree.read(sorted(expected)) == expected
        assert [args[-2:] for args in started] == [["cat-file", "--batch"]]
