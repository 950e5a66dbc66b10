"""Reporters: every format against its golden file, the json contract, SARIF structure, templates.

Regenerate the golden files after an intended change with ``AWAITGUARD_UPDATE_GOLDEN=1 pytest
tests/test_report.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awaitguard import __version__
from awaitguard.findings import Finding, Notice, Related
from awaitguard.report import FORMATS, fix, message, notice_line, notice_lines, render
from awaitguard.report.github import escape_data, escape_property
from awaitguard.report.sarif import first_paragraph, short_description, to_uri
from awaitguard.rules import CODES

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("AWAITGUARD_UPDATE_GOLDEN") == "1"

AG101 = Finding.make(
    "app/api/routes.py",
    88,
    15,
    "AG101",
    {
        "expr": "get_manager(...)",
        "callee": "get_manager",
        "defined_at": "app/ws/factory.py:41",
        "what": "a plain function",
        "fix": "drop the `await`, or make `get_manager` an `async def` again",
    },
    [
        Related("app/ws/factory.py", 41, 1, "`get_manager` is `def` here (was `async def` before this commit)"),
        Related("app/ws/__init__.py", 3, 1, "imported from `app.ws.factory` as `get_manager` here"),
    ],
    impact=True,
)
AG102 = Finding.make(
    "jobs/nightly.py",
    30,
    5,
    "AG102",
    {
        "expr": "refresh_index()",
        "callee": "refresh_index",
        "defined_at": "jobs/index.py:12",
        "how": "dropped as a statement",
        "qualname": "refresh_index",
        "fix": "write `await refresh_index()`, or keep the task returned by `asyncio.create_task(...)`",
    },
    [Related("jobs/index.py", 12, 1, "`refresh_index` is `async def` here")],
)
AG201 = Finding.make(
    "tests/test_checkout.py",
    19,
    6,
    "AG201",
    {
        "expr": "patch('shop.payments.charge', new_callable=AsyncMock)",
        "callee": "charge",
        "defined_at": "shop/payments.py:55",
        "double": "AsyncMock",
        "target": "shop.payments.charge",
        "fix": "patch with `autospec=True`, or use `Mock(return_value=...)`",
    },
    [Related("shop/payments.py", 55, 1, "`charge` is `def` here")],
)
# Non-ASCII, a space and a comma in the path; the column counts code points.
AG103_UNICODE = Finding.make(
    "src/données/rapport, été.py",
    7,
    16,
    "AG103",
    {
        "expr": "ouvrir_séance()",
        "callee": "ouvrir_séance",
        "defined_at": "src/données/séance.py:12",
        "keyword": "async with",
        "what": "`ouvrir_séance`, a `@contextlib.contextmanager` function",
        "error": "TypeError ('_GeneratorContextManager' object does not support the asynchronous "
        "context manager protocol)",
        "fix": "write `with ouvrir_séance()`, or make it an `@contextlib.asynccontextmanager` function",
    },
    [Related("src/données/séance.py", 12, 1, "`ouvrir_séance` is decorated `@contextlib.contextmanager` here")],
)
FINDINGS = (AG101, AG102, AG201, AG103_UNICODE)
NOTICE = Notice("scripts/migrate.py", 14, "cannot parse: invalid syntax (SyntaxError)")
NOTE = Notice.note("mypy could not resolve 2 imports; calls into them are `Any` and unchecked")
NOTICES = (NOTICE, NOTE)

GOLDEN_FILES = {
    "text": "report.txt",
    "json": "report.json",
    "sarif": "report.sarif",
    "github": "report.github",
}


def check_golden(name: str, actual: str) -> None:
    # the version has one home (awaitguard.__version__): a release must not rewrite the golden files
    actual = actual.replace(f'"{__version__}"', '"VERSION"').replace(f"/blob/v{__version__}/", "/blob/vVERSION/")
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.write_text(actual, encoding="utf-8", newline="\n")
    if not path.exists():
        pytest.fail(f"{path} is missing; create it with AWAITGUARD_UPDATE_GOLDEN=1")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs; if intended, rerun with AWAITGUARD_UPDATE_GOLDEN=1"


# --- golden files -------------------------------------------------------------------------------


def test_formats_are_the_four_documented() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "github"} == set(GOLDEN_FILES)


@pytest.mark.parametrize("fmt", sorted(GOLDEN_FILES))
def test_golden(fmt: str) -> None:
    check_golden(GOLDEN_FILES[fmt], render(fmt, FINDINGS, NOTICES))


@pytest.mark.parametrize("fmt", sorted(GOLDEN_FILES))
def test_output_is_deterministic_and_ends_with_newline(fmt: str) -> None:
    first = render(fmt, FINDINGS, NOTICES)
    assert first == render(fmt, list(FINDINGS), list(NOTICES))
    assert first.endswith("\n")
    assert not first.endswith("\n\n")


def test_unknown_format_is_a_value_error_naming_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown output format 'xml' \(choose from text, json, sarif"):
        render("xml", FINDINGS, NOTICES)


# --- text ---------------------------------------------------------------------------------------


def test_text_shape_matches_the_style_guide_example() -> None:
    out = FORMATS["text"]([AG102], [])
    assert out == (
        "jobs/nightly.py:30:5: AG102 `refresh_index()` creates a coroutine that is dropped as a statement;"
        " its body never runs (RuntimeWarning: coroutine 'refresh_index' was never awaited)\n"
        "    jobs/index.py:12:1: note: `refresh_index` is `async def` here\n"
        "    help: write `await refresh_index()`, or keep the task returned by `asyncio.create_task(...)`\n"
    )


def test_text_leaves_notices_to_the_cli() -> None:
    out = render("text", FINDINGS, NOTICES)
    assert NOTICE.message not in out and NOTE.message not in out
    assert "error:" not in out
    assert render("text", [], NOTICES) == ""


def test_notice_line() -> None:
    assert notice_line(NOTICE) == "scripts/migrate.py:14: error: cannot parse: invalid syntax (SyntaxError)"
    assert notice_line(Notice("blob.py", 0, "not UTF-8")) == "blob.py: error: not UTF-8"
    # a note about the whole run is no error and names the command, as its other lines do
    assert notice_line(NOTE, "awaitguard mypy") == f"awaitguard mypy: note: {NOTE.message}"
    assert notice_lines(NOTICES, "awaitguard scan") == (
        f"scripts/migrate.py:14: error: {NOTICE.message}\nawaitguard scan: note: {NOTE.message}\n"
    )


# --- json contract ------------------------------------------------------------------------------

FINDING_KEYS = {"path", "line", "col", "code", "message", "related", "fix", "slug", "args", "impact"}


def test_json_holds_every_contract_key() -> None:
    data = json.loads(render("json", FINDINGS, NOTICES))
    assert list(data) == ["version", "findings", "errors", "notices"]
    assert data["version"] == __version__
    assert [(f["path"], f["line"], f["col"], f["code"]) for f in data["findings"]] == [
        (f.path, f.line, f.col, f.code) for f in FINDINGS
    ]
    for obj, finding in zip(data["findings"], FINDINGS, strict=True):
        assert FINDING_KEYS <= set(obj)
        assert obj["message"] == message(finding)
        assert obj["fix"] == fix(finding)
        assert obj["slug"] == CODES[finding.code].slug
        assert obj["args"] == finding.kwargs
        # the data is enough: the message and the fix are the rule's templates filled with it
        assert CODES[obj["code"]].template.format_map(obj["args"]) == obj["message"]
        assert CODES[obj["code"]].fix.format_map(obj["args"]) == obj["fix"]
        assert obj["impact"] is finding.impact
        assert obj["related"] == [
            {"path": r.path, "line": r.line, "col": r.col, "message": r.note} for r in finding.related
        ]
    assert data["errors"] == [{"path": "scripts/migrate.py", "line": 14, "message": NOTICE.message}]
    assert data["notices"] == [{"message": NOTE.message}]  # added key: a note is not an error, it has no path


def test_json_is_ascii_and_round_trips_non_ascii_text() -> None:
    out = render("json", [AG103_UNICODE], [])
    assert out.isascii()
    obj = json.loads(out)["findings"][0]
    assert obj["path"] == "src/données/rapport, été.py"
    assert "ouvrir_séance()" in obj["message"]


def test_json_without_findings_is_still_a_document() -> None:
    assert json.loads(render("json", [], [])) == {"version": __version__, "findings": [], "errors": [], "notices": []}


# --- sarif --------------------------------------------------------------------------------------


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def test_sarif_structure() -> None:
    log = json.loads(render("sarif", FINDINGS, NOTICES))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "awaitguard"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert run["columnKind"] == "unicodeCodePoints"

    rules = driver["rules"]
    assert [rule["id"] for rule in rules] == sorted(CODES)
    for rule in rules:
        meta = CODES[rule["id"]]
        assert rule["name"] == meta.slug
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"].startswith(rule["shortDescription"]["text"].split(" ")[0])
        assert len(rule["shortDescription"]["text"]) < len(rule["fullDescription"]["text"]) or (
            rule["shortDescription"]["text"] == rule["fullDescription"]["text"].rstrip(".")
        )
        assert "**" not in rule["fullDescription"]["text"]
        assert (
            rule["helpUri"] == f"https://github.com/awaitguard/awaitguard/blob/v{__version__}/docs/rules/{meta.code}.md"
        )
        assert rule["help"]["markdown"] == meta.doc
        assert rule["defaultConfiguration"] == {"level": "error"}

    assert len(run["results"]) == len(FINDINGS)
    for result, finding in zip(run["results"], FINDINGS, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.code
        assert result["level"] == "error"
        assert result["message"]["text"] == message(finding)
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": to_uri(finding.path), "uriBaseId": "%SRCROOT%"}
        assert physical["region"] == {"startLine": finding.line, "startColumn": finding.col}
        related = result["relatedLocations"]
        assert [r["id"] for r in related] == list(range(1, len(finding.related) + 1))
        assert [r["message"]["text"] for r in related] == [r.note for r in finding.related]
        assert [r["physicalLocation"]["region"]["startLine"] for r in related] == [r.line for r in finding.related]
        assert result["properties"]["fix"] == fix(finding)
        assert result["properties"]["impact"] is finding.impact
        assert result["properties"]["args"] == finding.kwargs

    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolConfigurationNotifications"]
    assert notification["level"] == "error"
    assert notification["message"]["text"] == NOTICE.message
    notified = notification["locations"][0]["physicalLocation"]
    assert notified["artifactLocation"]["uri"] == "scripts/migrate.py"
    assert notified["region"] == {"startLine": 14}
    assert invocation["toolExecutionNotifications"] == [{"level": "note", "message": {"text": NOTE.message}}]

    assert not [key for key, _ in walk(log) if key.lower().endswith(("timeutc", "time"))]


def test_sarif_clean_run_is_successful() -> None:
    (run,) = json.loads(render("sarif", [], []))["runs"]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_sarif_note_alone_is_a_successful_run() -> None:
    (run,) = json.loads(render("sarif", [], [NOTE]))["runs"]
    assert run["invocations"] == [
        {
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "note", "message": {"text": NOTE.message}}],
        }
    ]


def test_sarif_uri_is_percent_encoded_and_column_is_not_converted() -> None:
    (run,) = json.loads(render("sarif", [AG103_UNICODE], []))["runs"]
    physical = run["results"][0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "src/donn%C3%A9es/rapport%2C%20%C3%A9t%C3%A9.py"
    assert physical["region"]["startColumn"] == 16  # code points, as `columnKind` says


def test_sarif_descriptions_come_from_the_first_paragraph() -> None:
    doc = "**What it does**\n\nFinds `await` on a plain value: a call,\nor a module.\nMore.\n\n**Why?**\n"
    assert first_paragraph(doc) == "Finds `await` on a plain value: a call, or a module. More."
    assert short_description(first_paragraph(doc)) == "Finds `await` on a plain value"
    assert short_description("Finds a thing. Then more.") == "Finds a thing"
    assert (
        short_description("Finds `Mock()` (or `f(x)` (nested)) patched (here) over `g()`, and more.")
        == "Finds `Mock()` patched over `g()`, and more"
    )


# A subset of the SARIF 2.1.0 schema (OASIS), written from the spec: the objects this reporter
# emits, their required properties and value ranges, and no unknown property names (typo guard).
_MESSAGE = {
    "type": "object",
    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
    "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}, "id": {"type": "string"}},
    "additionalProperties": False,
}
_PHYSICAL = {
    "type": "object",
    "properties": {
        "artifactLocation": {
            "type": "object",
            "properties": {
                "uri": {"type": "string", "format": "uri-reference"},
                "uriBaseId": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "region": {
            "type": "object",
            "properties": {
                "startLine": {"type": "integer", "minimum": 1},
                "startColumn": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": False,
        },
    },
    "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}],
    "additionalProperties": False,
}
_LOCATION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": -1},
        "physicalLocation": _PHYSICAL,
        "message": _MESSAGE,
    },
    "additionalProperties": False,
}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
SARIF_SUBSET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool"],
                "additionalProperties": False,
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "semanticVersion": {"type": "string"},
                                    "informationUri": {"type": "string", "format": "uri"},
                                    "rules": {
                                        "type": "array",
                                        "uniqueItems": True,
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "additionalProperties": False,
                                            "properties": {
                                                "id": {"type": "string"},
                                                "name": {"type": "string"},
                                                "shortDescription": _MESSAGE,
                                                "fullDescription": _MESSAGE,
                                                "help": _MESSAGE,
                                                "helpUri": {"type": "string", "format": "uri"},
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {"level": _LEVEL},
                                                },
                                                "properties": {"type": "object"},
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "invocations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["executionSuccessful"],
                            "additionalProperties": False,
                            "properties": {
                                "executionSuccessful": {"type": "boolean"},
                                "toolConfigurationNotifications": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["message"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "level": _LEVEL,
                                            "message": _MESSAGE,
                                            "locations": {"type": "array", "items": _LOCATION},
                                        },
                                    },
                                },
                                "toolExecutionNotifications": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["message"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "level": _LEVEL,
                                            "message": _MESSAGE,
                                            "locations": {"type": "array", "items": _LOCATION},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "additionalProperties": False,
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": _LEVEL,
                                "message": _MESSAGE,
                                "locations": {"type": "array", "items": _LOCATION},
                                "relatedLocations": {
                                    "type": "array",
                                    "uniqueItems": True,
                                    "items": _LOCATION,
                                },
                                "properties": {"type": "object"},
                            },
                        },
                    },
                },
            },
        },
    },
    "additionalProperties": False,
}


def test_sarif_validates_against_schema_subset() -> None:
    # skipped only where jsonschema cannot be imported: the `test` extra installs it (test below)
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed (pip install the test extra)")
    log = json.loads(render("sarif", FINDINGS, NOTICES))
    validator = jsonschema.Draft7Validator(SARIF_SUBSET_SCHEMA)
    assert [error.message for error in validator.iter_errors(log)] == []
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startColumn"] = 0
    assert not validator.is_valid(log)  # the schema can fail


def test_the_test_extra_installs_the_schema_validator() -> None:
    """`pip install -e '.[test]'`, the README's test command, must not leave the schema test skipped."""
    from awaitguard.config import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    extra = pyproject["project"]["optional-dependencies"]["test"]
    assert "jsonschema" in {re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower() for requirement in extra}


# --- github -------------------------------------------------------------------------------------


def test_github_annotation_shape() -> None:
    out = render("github", [AG101], [])
    assert out == (
        "::error file=app/api/routes.py,line=88,col=15,title=AG101 await-not-awaitable::"
        "`await get_manager(...)` awaits a plain function; at runtime this raises TypeError "
        "(\"can't be used in 'await' expression\") (defined at app/ws/factory.py:41; see also "
        "app/ws/__init__.py:3) — help: drop the `await`, or make `get_manager` an `async def` again\n"
    )


def test_github_one_line_per_finding_and_notice() -> None:
    lines = render("github", FINDINGS, NOTICES).splitlines()
    assert len(lines) == len(FINDINGS) + len(NOTICES)
    assert all(line.startswith("::error file=") for line in lines[:-1])
    assert lines[-2] == "::error file=scripts/migrate.py,line=14::cannot parse: invalid syntax (SyntaxError)"
    assert lines[-1] == f"::notice::{NOTE.message}"  # no file, not an error
    assert render("github", [], []) == ""


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("C:\\a,b%\n") == "C%3A\\a%2Cb%25%0A"
    out = render("github", [], [Notice("odd,name:1.py", 0, "bad\nbytes 50%")])
    assert out == "::error file=odd%2Cname%3A1.py::bad%0Abytes 50%25\n"


# --- every code renders with the args its family passes ----------------------------------------

# rules/_base.py `finding()` always sets expr and callee, and defined_at only when the definition
# is known, so no template may need defined_at.
BASE_ARGS = {"expr", "callee"}
OPTIONAL_ARGS = {"defined_at"}
FAMILY_ARGS = {
    "AG101": BASE_ARGS | {"what", "fix"},  # rules/awaits _await
    "AG103": BASE_ARGS | {"keyword", "what", "error", "fix"},  # rules/awaits _with
    "AG104": BASE_ARGS | {"keyword", "what", "error", "fix"},  # rules/awaits _for
    "AG102": BASE_ARGS | {"how", "qualname", "fix"},  # rules/dropped.py check
    "AG105": {"name", "module", "change", "fix"},  # rules/missing.py check_removed (Finding.make)
    "AG106": {"expr", "what", "where", "error", "fix"},  # rules/placement.py check (Finding.make)
    "AG107": {"expr", "what", "where", "error", "fix"},  # rules/placement.py check (Finding.make)
    "AG201": BASE_ARGS | {"double", "target"},  # rules/doubles.py check
    "AG202": BASE_ARGS | {"double", "target"},  # rules/doubles.py check
    "AG108": {"callee", "twin", "where", "fix"},  # policy/check.py _twin_finding
    "AG109": {"callee", "policy", "fix"},  # policy/check.py _call
    "AG110": {"name", "base", "short"},  # rules/overrides.py check
    "AG111": BASE_ARGS | {"api", "what", "error"},  # rules/awaits/handed.py check
    "AG203": {"double", "target", "policy", "paths"},  # policy/check.py _double
}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_code_has_its_args_listed_here() -> None:
    assert set(FAMILY_ARGS) == set(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_renders_template_and_fix(code: str) -> None:
    meta = CODES[code]
    needed = fields(meta.template) | fields(meta.fix)
    assert all(name.isidentifier() for name in needed), needed  # plain names: no `{a.b}`, `{a[0]}`
    assert needed <= FAMILY_ARGS[code], f"{code} needs {needed - FAMILY_ARGS[code]}"
    for args in (FAMILY_ARGS[code], FAMILY_ARGS[code] | OPTIONAL_ARGS):
        finding = Finding.make("m.py", 1, 1, code, {name: f"<{name}>" for name in args})
        rendered = message(finding) + fix(finding)
        assert all(f"<{name}>" in rendered for name in needed)
        assert message(finding).strip() and fix(finding).strip()
        assert "{" not in message(finding).replace("{{", "")


def test_missing_arg_is_an_error_naming_code_and_arg() -> None:
    finding = Finding.make("m.py", 3, 1, "AG101", {"expr": "f()"})
    with pytest.raises(ValueError, match=r"m\.py:3: AG101 template needs arg 'what'"):
        message(finding)


def test_unknown_code_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown rule code 'AG999'"):
        render("text", [Finding.make("m.py", 3, 1, "AG999", {})], [])
