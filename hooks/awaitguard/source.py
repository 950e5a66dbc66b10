"""Bytes -> ``ast``: every way a file can fail to parse becomes one ``SourceError``."""

from __future__ import annotations

import ast
import sys
import warnings


class SourceError(Exception):
    """A file that cannot be scanned: one user-facing line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def parse(data: bytes, path: str) -> ast.Module:
    """Parse ``data`` (bytes, so a coding cookie is honoured) or raise ``SourceError``."""
    if b"\0" in data:
        raise SourceError(path, 0, "not a Python source file (it holds NUL bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes etc. is not ours to show
            return ast.parse(data, filename=path)
    except SyntaxError as exc:
        # ``newer`` (tokenize and a rewriter) only for a file that fails: a scan without one never imports it
        from awaitguard.newer import PARSE_FAILURE, needed, text

        message = exc.msg or "invalid syntax"
        if "codec can't decode" in message or "unicode error" in message or "encoding" in message:
            raise SourceError(path, exc.lineno or 0, f"cannot decode the file: {message}") from None
        need = needed(data)
        if need is not None:  # provably valid for a newer Python: say which (``newer.NEEDS`` reads it back)
            why = f"{need.what} needs Python {text(need.version)}"
        else:
            why = f"is it Python, and no newer than {_VERSION}?"
        raise SourceError(path, exc.lineno or 0, f"{PARSE_FAILURE}{_VERSION}: {message} ({why})") from None
    except UnicodeDecodeError as exc:
        raise SourceError(path, 0, f"cannot decode the file: {exc.reason}") from None
    except (ValueError, LookupError) as exc:  # NUL bytes on old Pythons, unknown coding cookie
        raise SourceError(path, 0, f"cannot read the file as Python source: {exc}") from None
    except RecursionError:
        raise SourceError(path, 0, "expression nested too deeply for Python's parser") from None
    except MemoryError:
        raise SourceError(path, 0, "file too large or too deeply nested to parse") from None
