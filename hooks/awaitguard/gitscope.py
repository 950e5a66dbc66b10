"""Read-only git: which Python files a commit or a range changes, and a ``Tree`` over the index or a revision.

Every git subprocess of awaitguard runs here, through ``gitproc`` (how git is run, and how blobs are read).
Nothing writes to the index, the work tree or the object store: plumbing only (``diff-index``,
``diff-tree``, ``ls-files``, ``ls-tree``, ``cat-file``, ``grep``) with ``GIT_OPTIONAL_LOCKS=0``. Every
failure is a ``GitError`` holding one line.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from awaitguard.config import find_root
from awaitguard.gitproc import NO_GIT as NO_GIT
from awaitguard.gitproc import GitError as GitError
from awaitguard.gitproc import Reader as _Reader
from awaitguard.gitproc import WorkTree as _WorkTree
from awaitguard.gitproc import cat_file as _cat_file
from awaitguard.gitproc import decode as _decode
from awaitguard.gitproc import encode as _encode
from awaitguard.gitproc import env as _env
from awaitguard.gitproc import run as _run
from awaitguard.model import FileChange, Scope
from awaitguard.tree import WordFinder, is_environment, plain_words, words_of

PY_SUFFIXES = (".py", ".pyi")
PY_PATHSPEC = ("*.py", "*.pyi")
GITLINK = "160000"  # a submodule entry
FILE_MODES = frozenset({"100644", "100755"})  # regular blobs; symlinks (120000) hold a path, not source
SHALLOW_HINT = "run `git fetch --unshallow` or fetch with more depth"
PRE_COMMIT_REFS = (("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"), ("PRE_COMMIT_SOURCE", "PRE_COMMIT_ORIGIN"))
# words a commit's scan looks for with ``bytes.find`` before it makes each file's words (``tree.WordFinder``):
# one word costs about a twentieth of the words of the whole tree
FIND_FIRST = 16
_GREP_ARGV_BUDGET = 16_000  # characters of words per `git grep` (a Windows command line stops at 32K)
_HUNK = re.compile(rb"@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {ord(k): v for k, v in {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13}.items()}


# ---------------------------------------------------------------------------------------------- running git


def _split_z(output: bytes) -> list[str]:
    return [_decode(item) for item in output.split(b"\0") if item]


def _is_python(path: str) -> bool:
    return path.endswith(PY_SUFFIXES)


def git_available() -> bool:
    try:
        proc = subprocess.run(
            ["git", "--version"], env=_env(), stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
    except OSError:
        return False
    return proc.returncode == 0


def repo_root(start: Path) -> Path | None:
    """The top of the work tree holding ``start``; None outside a repository or without git."""
    folder = start if start.is_dir() else start.parent
    try:
        top = _decode(_run(folder, "rev-parse", "--show-toplevel")).rstrip("\n")
    except GitError:
        return None
    return Path(top) if top else None


def project_root(start: Path) -> tuple[Path, Path | None]:
    """The project's top (the work tree's, else the nearest folder holding pyproject.toml) and the
    work tree's top (None outside a repository or without git)."""
    repo = repo_root(start)
    return repo or find_root(start), repo


def _is_shallow(root: Path) -> bool:
    return _run(root, "rev-parse", "--is-shallow-repository").strip() == b"true"


def _resolve(root: Path, rev: str, peel: str = "commit") -> str | None:
    """The object id of ``rev`` peeled to ``peel``, or None when it does not exist."""
    if not rev or rev.startswith("-"):
        raise GitError(f"unknown revision `{rev}`")
    sha = _run(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{{peel}}}", ok=(0, 1)).strip()
    return sha.decode("ascii") if sha else None


def file_at(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` (relative to ``root``) in ``rev``; None when either does not exist
    (a repository with no commit yet has no ``HEAD``)."""
    if _resolve(root, rev) is None:
        return None
    try:
        return _run(root, "show", f"{rev}:{path}")
    except GitError:
        return None


def _require(root: Path, rev: str, role: str, peel: str = "commit") -> str:
    sha = _resolve(root, rev, peel)
    if sha is not None:
        return sha
    if _is_shallow(root):
        raise GitError(f"{role} revision `{rev}` is not in this shallow clone; {SHALLOW_HINT}")
    raise GitError(f"unknown revision `{rev}`")


# -------------------------------------------------------------------------------------------- listing files


def _index_entries(root: Path, *, merged_only: bool = False) -> dict[str, tuple[str, str]]:
    """path -> (mode, object id) of the Python files in the index; ``merged_only`` drops paths in conflict (no
    stage 0)."""
    entries: dict[str, tuple[str, str]] = {}
    for record in _run(root, "ls-files", "-z", "--stage", "--", *PY_PATHSPEC).split(b"\0"):
        meta, tab, raw = record.partition(b"\t")
        if tab:
            mode, sha, stage = meta.decode("ascii").split(" ")
            if stage == "0" or not merged_only:
                entries.setdefault(_decode(raw), (mode, sha))
    return entries


def list_files(root: Path) -> list[str]:
    """Python files in the work tree: tracked, or untracked and not ignored; no submodule contents."""
    tracked = [path for path, (mode, _) in _index_entries(root).items() if mode != GITLINK]
    untracked = _split_z(
        _run(root, "ls-files", "-z", "--others", "--exclude-standard", "--", *PY_PATHSPEC, *_NOT_INSTALLED)
    )
    base = str(root)
    isfile, join = os.path.isfile, os.path.join  # not pathlib: this runs once per file of the tree
    seen: dict[str, bool] = {}
    untracked = [path for path in untracked if not _in_environment(base, path, seen)]
    found = {path for path in (*tracked, *untracked) if _is_python(path) and isfile(join(base, path))}
    return sorted(found)


# an environment the user keeps in the project (`python -m venv .venv` writes no .gitignore before 3.13):
# installed packages are not the project's code, even when git does not ignore them
_NOT_INSTALLED = (":(exclude,glob)**/site-packages/**", ":(exclude,glob)**/dist-packages/**")


def _in_environment(base: str, path: str, seen: dict[str, bool]) -> bool:
    """Whether an untracked ``path`` lies in a virtualenv or conda environment inside the project."""
    parts = path.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        known = seen.get(folder)
        if known is None:
            known = seen[folder] = is_environment(os.path.join(base, folder))
        if known:
            return True
    return False


# ------------------------------------------------------------------------------------------------- diffing


def _unquote(quoted: bytes) -> bytes:
    """Undo git's C-style quoting of a path (``"a/x\\ty"``)."""
    body, out, i = quoted[1:-1], bytearray(), 0
    while i < len(body):
        if body[i] == 0x5C and i + 1 < len(body):  # backslash
            escaped = body[i + 1]
            if 0x30 <= escaped <= 0x37:
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(_ESCAPES.get(escaped, escaped))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return bytes(out)


def _patch_path(name: bytes) -> str:
    """The path of a ``+++ b/<path>`` line (git adds a tab after a name that holds a space)."""
    name = name.removesuffix(b"\t")
    if name.startswith(b'"') and name.endswith(b'"'):
        name = _unquote(name)
    return _decode(name.removeprefix(b"b/"))


def _added_lines(patch: bytes) -> dict[str, set[int]]:
    """New-side line numbers of every hunk of a ``-U0`` patch, by new path."""
    added: dict[str, set[int]] = {}
    current: set[int] | None = None
    in_header = False
    for line in patch.split(b"\n"):
        if line.startswith((b"diff --git ", b"* Unmerged path ")):
            in_header, current = True, None
        elif in_header and line.startswith(b"+++ "):
            name = line[4:]
            current = None if name == b"/dev/null" else added.setdefault(_patch_path(name), set())
        elif line.startswith(b"@@ -"):  # hunk lines start with "+", "-", " " or "\", never "@"
            in_header = False
            match = _HUNK.match(line)
            if match and current is not None:
                start, count = int(match[1]), 1 if match[2] is None else int(match[2])
                current.update(range(start, start + count))
    return added


def _raw_entries(raw: bytes) -> Iterator[tuple[str, str, str, str, str]]:
    """(status letter, old mode, new mode, old path, new path) of ``--raw -z`` output."""
    tokens = raw.split(b"\0")
    i = 0
    while i < len(tokens):
        meta = tokens[i]
        if not meta.startswith(b":"):
            i += 1
            continue
        fields = meta[1:].split(b" ")
        old_mode, new_mode, status = fields[0].decode(), fields[1].decode(), fields[4][:1].decode()
        if status in ("R", "C"):
            old, new = _decode(tokens[i + 1]), _decode(tokens[i + 2])
            i += 3
        else:
            old = new = _decode(tokens[i + 1])
            i += 2
        yield status, old_mode, new_mode, old, new


def _changes(root: Path, command: Sequence[str]) -> tuple[FileChange, ...]:
    """The Python file changes of a ``diff-index``/``diff-tree`` command line."""
    options = ("-M", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none")
    raw = _run(root, *command, *options, "--raw", "-z", "--no-abbrev", "--", *PY_PATHSPEC)
    patch = _run(
        root,
        *command,
        *options,
        "-p",
        "-U0",
        "--no-color",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--submodule=short",
        "--",
        *PY_PATHSPEC,
    )
    added = _added_lines(patch)
    changes: list[FileChange] = []
    for status, old_mode, new_mode, old, new in _raw_entries(raw):
        if status not in "ACDMRT":
            continue  # an unmerged path: it has no stage 0 to read
        # Only regular files count: a submodule or a symlink on one side is "absent" on that side.
        had = old_mode in FILE_MODES and status not in ("A", "C")
        has = new_mode in FILE_MODES and status != "D"
        lines = frozenset(added.get(new, ()))
        if had and has:
            renamed = status == "R"
            changes.append(FileChange(new, "R" if renamed else "M", old if renamed else None, lines))
        elif has:
            changes.append(FileChange(new, "A", None, lines))
        elif had:
            changes.append(FileChange(old, "D"))
    return tuple(sorted(changes, key=lambda change: change.path))


def staged_scope(root: Path) -> Scope:
    """What ``git commit`` would record: the index against ``HEAD`` (all of it before the first commit)."""
    head = _resolve(root, "HEAD")
    base_tree = head or _decode(_run(root, "hash-object", "-t", "tree", "--stdin", stdin=b"")).strip()
    changes = _changes(root, ["diff-index", "--cached", base_tree])
    return Scope(mode="staged", base=head, target=None, changes=changes)


def range_scope(root: Path, base: str, target: str = "HEAD") -> Scope:
    """Changes from ``merge-base(base, target)`` to ``target`` (``git diff base...target``)."""
    target_sha = _require(root, target, "target")
    base_sha = _require(root, base, "base")
    merge_base = _run(root, "merge-base", base_sha, target_sha, ok=(0, 1)).strip().decode("ascii")
    if not merge_base:
        if _is_shallow(root):
            raise GitError(f"the merge base of `{base}` and `{target}` is not in this shallow clone; {SHALLOW_HINT}")
        raise GitError(f"`{base}` and `{target}` have no common history; pass a base on the same branch")
    changes = _changes(root, ["diff-tree", "-r", merge_base, target_sha])
    return Scope(mode="range", base=merge_base, target=target_sha, changes=changes)


def changed(root: Path, base: str | None, target: str | None, path: str) -> bool:
    """Whether a scope (``Scope.base``, ``Scope.target``) changes the file at ``path`` (any file, not only
    Python); True without a base (a first commit)."""
    if base is None:
        return True
    if target is None:  # staged: the index against the base
        command = ["diff-index", "--cached", base]
    else:
        command = ["diff-tree", "-r", base, target]
    return bool(_run(root, *command, "--name-only", "--no-ext-diff", "--", path).strip())


def default_scope(root: Path, base: str | None, env: Mapping[str, str]) -> Scope:
    """``--base`` wins; then the refs pre-commit exports for pre-push; else the staged changes."""
    if base:
        return range_scope(root, base, "HEAD")
    for from_key, to_key in PRE_COMMIT_REFS:
        start, end = env.get(from_key), env.get(to_key)
        if start and end:
            return range_scope(root, start, end)
    return staged_scope(root)


# ---------------------------------------------------------------------------------------------- the tree


def _batch_chunks(words: Sequence[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for word in words:
        if chunk and size + len(word) + 4 > _GREP_ARGV_BUDGET:
            yield chunk
            chunk, size = [], 0
        chunk.append(word)
        size += len(word) + 4
    if chunk:
        yield chunk


_FEW = 8  # paths ``GitTree.read`` asks the running reader for, one at a time, rather than a batch of its own
# blobs read by any tree of this process, by object id (content-addressed: the same id is the same bytes), so a
# diff-scoped scan's two trees (the index and HEAD, mostly the same blobs) read each once; cleared when large
_SHARED: dict[str, bytes] = {}
_SHARED_WORDS: dict[str, frozenset[bytes]] = {}  # and their words (``words_of``), for ``grep``
_SHARED_LIMIT = 200_000


class GitTree:
    """Python files of the index (``rev`` None: what pre-commit checks) or of a revision."""

    def __init__(self, root: Path, rev: str | None = None) -> None:
        self.root = root
        self.rev = rev
        self._tree = None if rev is None else _require(root, rev, "tree", peel="tree")
        self._files: list[str] | None = None
        self._reader: _Reader | None = None  # ``read``'s running `git cat-file --batch`, once a few are asked for
        # what ``read`` found (None: no blob there): the index and a revision do not change while a scan runs, and a
        # scan's searches read the whole tree again and again (a diff-scoped scan of 2,072 files read it 10 times)
        self._blobs: dict[str, bytes | None] = {}
        self._finder = WordFinder(FIND_FIRST)  # ``grep``: a commit's scan asks a few words
        self._oids: dict[str, str] = {}  # path -> its blob's object id, from ``files``
        self._work = _WorkTree(root)

    def files(self) -> Sequence[str]:
        if self._files is None:
            if self._tree is None:
                entries = list(_index_entries(self.root, merged_only=True).items())
            else:
                entries = []
                for record in _run(self.root, "ls-tree", "-r", "-z", self._tree).split(b"\0"):
                    meta, tab, raw = record.partition(b"\t")
                    if tab:
                        mode, _kind, sha = meta.decode("ascii").split(" ")
                        entries.append((_decode(raw), (mode, sha)))
            self._files = [path for path, (mode, _) in entries if mode in FILE_MODES and _is_python(path)]
            self._oids = {path: sha for path, (mode, sha) in entries if mode in FILE_MODES}
        return self._files

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """The blobs of ``paths`` (each read once, then kept); a path that is no regular file of the tree is left
        out. A file the work tree holds unchanged is read from there. Many others at once: one ``git cat-file
        --batch`` for them. A few (a module a resolution asks for, one at a time): a ``git cat-file --batch`` kept
        running for the tree answers them: a diff-scoped scan of a large project read hundreds of modules one at
        a time, and started a process for each."""
        self.files()  # every regular file's object id: a path that is none (missing, a symlink) is left out, as
        # ``FsTree.read`` leaves a symlink out, and git is never asked for it (a source root's search asks for the
        # metadata files of every folder: git answered "missing" for most of them, a process for each tree)
        kept, oids = self._blobs, self._oids
        wanted = [path for path in dict.fromkeys(paths) if path in oids and "\n" not in path]
        for name in wanted:  # a blob another tree of this process read (the index and HEAD share most)
            if name not in kept and oids.get(name) in _SHARED:
                kept[name] = _SHARED[oids[name]]
        asked = [name for name in wanted if name not in kept]
        # what the work tree holds byte for byte is read there (``WorkTree.blobs``), the rest from git
        on_disk = {name: oids[name] for name in asked if name in oids}
        if on_disk:
            kept.update(self._work.blobs(on_disk))
        names = [name for name in asked if name not in kept]
        if names:
            prefix = ":0:" if self._tree is None else f"{self._tree}:"  # ":0:" so "1:x.py" is not a stage
            if len(names) <= _FEW:
                if self._reader is None:
                    self._reader = _Reader(self.root)
                for name in names:
                    kept[name] = self._reader.blob(_encode(prefix + name))
            else:
                request = b"".join(_encode(prefix + name) + b"\n" for name in names)
                found = _cat_file(self.root, names, request)
                kept.update((name, found.get(name)) for name in names)
        if asked:
            if len(_SHARED) > _SHARED_LIMIT:
                _SHARED.clear()  # a long-lived process meets trees without end
            _SHARED.update((oids[name], blob) for name in asked if name in oids and (blob := kept[name]) is not None)
        return {name: blob for name in wanted if (blob := kept[name]) is not None}

    def _words_of(self, path: str) -> frozenset[bytes]:
        oid = self._oids.get(path)
        found = _SHARED_WORDS.get(oid) if oid is not None else None
        if found is None:
            found = words_of(self._blobs[path] or b"")
            if oid is not None:
                if len(_SHARED_WORDS) > _SHARED_LIMIT:
                    _SHARED_WORDS.clear()
                _SHARED_WORDS[oid] = found
        return found

    def grep(self, words: Collection[str]) -> set[str]:
        """Files holding any word as a whole word (``git grep -w -F``), limited to ``files()``."""
        unique = sorted({word for word in words if word})
        if not unique:
            return set()
        plain = [_encode(word) for word in unique]
        files = self.files()
        if plain_words(plain):
            # the whole tree is read (a scan's searches read it anyway): its bytes answer, no git process
            if not all(path in self._blobs for path in files):
                self.read(files)
            return self._finder.holding(files, self._blobs, plain, self._words_of)
        where = ["--cached"] if self._tree is None else [self._tree]
        prefix = "" if self._tree is None else f"{self._tree}:"
        found: set[str] = set()
        for chunk in _batch_chunks(unique):
            patterns = [arg for word in chunk for arg in ("-e", word)]
            output = _run(
                self.root,
                "grep",
                "-l",
                "-z",
                "-w",
                "-F",
                "--no-color",
                "--full-name",
                "--no-recurse-submodules",
                *patterns,
                *where,
                "--",
                *PY_PATHSPEC,
                ok=(0, 1),
            )
            found.update(name.removeprefix(prefix) for name in _split_z(output))
        return found & set(self.files())
