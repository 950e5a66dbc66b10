"""A deployed path (``/app/...``, ``/srv/svc/...``, ``.../site-packages/pkg/...``) -> a file of the work tree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# folders a service is commonly deployed under: a single matching file name is enough below them
_DEPLOY_ROOTS = ("/app", "/workspace", "/code", "/src", "/usr/src/app", "/home/app", "/opt/app")
_DEPLOY_PARENTS = ("/srv/", "/opt/", "/home/")
_PACKAGE_DIRS = ("site-packages", "dist-packages")


class PathMapper:
    def __init__(self, files: Sequence[str], path_map: Mapping[str, str] | None = None) -> None:
        self._files = set(files)
        self._by_name: dict[str, list[tuple[str, ...]]] = {}
        for path in files:
            parts = tuple(path.split("/"))
            self._by_name.setdefault(parts[-1], []).append(parts)
        # longest prefix first, so a specific mapping wins over a general one
        self._map = sorted((path_map or {}).items(), key=lambda item: -len(item[0]))
        self._cache: dict[str, str | None] = {}

    def map(self, deployed: str) -> str | None:
        """The work-tree path, or None (not ours, or more than one file matches equally well)."""
        if deployed not in self._cache:
            found: str | None = None
            for candidate in deployed.split("\0"):  # Sentry: abs_path, then its relative filename
                found = self._map_one(candidate.replace("\\", "/"))
                if found is not None:
                    break
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[deployed] = found
        return self._cache[deployed]

    def _map_one(self, path: str) -> str | None:
        if not path or path.startswith("<") or not path.endswith((".py", ".pyi")):
            return None
        for prefix, target in self._map:
            if path.startswith(prefix):
                rest = path[len(prefix) :].lstrip("/")
                mapped = f"{target.rstrip('/')}/{rest}" if target.strip("/") else rest
                return mapped if mapped in self._files else None
        if not path.startswith("/") and path in self._files:
            return path
        parts = tuple(p for p in path.split("/") if p and p != ".")
        if not parts:
            return None
        package = next((i for i, p in enumerate(parts) if p in _PACKAGE_DIRS), None)
        if package is None and "lib" in parts and any(p.startswith("python3") for p in parts):
            return None  # the standard library of the deployed interpreter
        best: list[str] = []
        best_len = 0
        for candidate in self._by_name.get(parts[-1], ()):
            n = 0
            while n < min(len(candidate), len(parts)) and candidate[-1 - n] == parts[-1 - n]:
                n += 1
            if n > best_len:
                best, best_len = ["/".join(candidate)], n
            elif n == best_len:
                best.append("/".join(candidate))
        if len(best) != 1:
            return None  # nothing, or ambiguous: never guess
        if best_len >= 2 or self._deploy_root("/" + "/".join(parts[:-1]) if path.startswith("/") else ""):
            return best[0]
        if not path.startswith("/") and best_len == len(parts):
            return best[0]
        return None

    @staticmethod
    def _deploy_root(folder: str) -> bool:
        if folder in _DEPLOY_ROOTS:
            return True
        return any(folder.startswith(p) and folder.count("/") == 2 for p in _DEPLOY_PARENTS)
