"""The docs say what the code does: every ``permis`` command line in README.md and docs/*.md
names a command the app has, with options it has (checked on the Typer app, never run); every
HTTP route they name is served; the settings table is ``Settings``; the variables, ``make``
targets and Python files they name exist; the README says why each library is there and tells
the demo's steps. (docs/cli.md and docs/rules.md are compared with their generators in
test_package.py.)"""

from __future__ import annotations

import re
import tomllib
from dataclasses import MISSING, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.routing import Match

from permis.config import Settings
from tests.unit.docs_text import (
    DOCS,
    ROOT,
    command_problems,
    commands,
    documented_commands,
    routes,
    sample_path,
    snippets,
    snippets_in,
    typer_root,
)

README = ROOT / "README.md"


@pytest.fixture(scope="module")
def root() -> Any:
    return typer_root()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_documented_command_exists_with_its_options(doc: Path, root: Any) -> None:
    problems = [
        f"{s.where()}: permis {' '.join(words)}: {problem}"
        for s in snippets(doc)
        for words in commands(s)
        for problem in command_problems(root, words)
    ]
    assert problems == []


def test_the_docs_give_commands_to_check() -> None:
    found = documented_commands()
    in_readme = [words for s, words in found if s.doc == "README.md"]
    assert len(in_readme) >= 20 and len(found) >= 200
    assert ["audit", "verify"] in in_readme and ["violations"] in in_readme


MADE_UP = """
```sh
permis check --contact 0612345678 --channel call --colour red   # an option check lacks
permis record objection --contact 0612345678 \\
    --source agent --loudly
permis dispatch --once && permis teleport --now
permis rules --markdown > docs/rules.md && permis audit verify --json | jq .
```
Prose naming permis frobnicate is not code; `permis audit verify|erase`, `permis check 0612345678`
and `permis links --contact C
[--json] [--shout]` are.
"""


def test_the_command_check_finds_what_the_app_does_not_have(root: Any) -> None:
    found = [
        problem
        for s in snippets_in(MADE_UP, "made-up.md")
        for words in commands(s)
        for problem in command_problems(root, words)
    ]
    assert found == [
        "permis check has no option --colour",
        "permis record objection has no option --loudly",
        "permis has no command teleport",
        "permis audit has no command erase",
        "permis check takes 0 argument(s), the doc gives 0612345678",
        "permis links has no option --shout",
    ]


def test_the_command_check_accepts_what_the_app_has(root: Any) -> None:
    for words in (
        ["check", "--contact", "+33 6 12 34 56 78", "--channel", "call", "--json"],
        ["lists", "import", "NAME", "FILE", "--as-of", "DATE"],
        ["processors", "add", "NAME", "[--webhook", "URL", "[--secret", "whsec_...]]"],
        ["model", "train", "[FILE", "--target", "y]", "[--out", "F]"],
        ["audit", "verify|export", "--help"],
        ["record"],
    ):
        assert command_problems(root, words) == [], words


# -- HTTP routes -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http() -> Any:
    """The HTTP app around a stand-in application: routes only, no register opened."""
    from permis.entrypoints.api.app import create_app

    stand_in = SimpleNamespace(
        settings=Settings(),
        db=None,
        gate=SimpleNamespace(rules=None, policy=None),
        clock=None,
    )
    return create_app(stand_in)  # type: ignore[arg-type]


def _served(http: Any, method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in http.routes)


def _route_problems(http: Any, methods: tuple[str, ...], path: str) -> list[str]:
    concrete = sample_path(path)
    if methods:
        return [f"{m} {path} is not served" for m in methods if not _served(http, m, concrete)]
    if any(_served(http, m, concrete) for m in ("GET", "POST")):
        return []
    prefixes = {p.rstrip("/") + "/" for p in http.openapi()["paths"]}
    if any(p.startswith(concrete.rstrip("/") + "/") for p in prefixes):  # a prefix: ``/v1``
        return []
    return [f"{path} is not served"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_documented_route_is_served(doc: Path, http: Any) -> None:
    problems = [
        f"{s.where()}: {problem}"
        for s in snippets(doc)
        for methods, path in routes(s)
        for problem in _route_problems(http, methods, path)
    ]
    assert problems == []


def test_the_route_check_finds_a_route_that_is_not_served(http: Any) -> None:
    text = "`GET /v1/decisions`, `DELETE /v1/decisions`, `/v1/teleport`, `/usr/bin/chromium`"
    found = [
        problem
        for s in snippets_in(text, "made-up.md")
        for methods, path in routes(s)
        for problem in _route_problems(http, methods, path)
    ]
    assert found == ["DELETE /v1/decisions is not served", "/v1/teleport is not served"]


# -- settings, variables, make targets, files --------------------------------------------------


def _default_as_written(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f"`{value}`" if value else "empty"


SETTING_ROW = re.compile(r"^\| `PERMIS_([A-Z0-9_]+)` \| ([^|]+?) \|", re.MULTILINE)


def _defaults() -> dict[str, str]:
    return {
        f.name.upper(): _default_as_written(f.default)
        for f in fields(Settings)
        if f.default is not MISSING
    }


def test_the_settings_table_is_settings() -> None:
    rows = dict(SETTING_ROW.findall((ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")))
    assert len(_defaults()) == len(fields(Settings))
    assert rows == _defaults()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_settings_row_gives_the_default(doc: Path) -> None:
    rows = SETTING_ROW.findall(doc.read_text(encoding="utf-8"))
    defaults = _defaults()
    assert [(name, given) for name, given in rows if defaults.get(name) != given] == []


def test_every_documented_variable_is_read_somewhere() -> None:
    read = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("src", "tests", "benchmarks", ".ci")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix in {".py", ""} and "__pycache__" not in path.parts
    )
    settings = {"PERMIS_" + f.name.upper() for f in fields(Settings)}
    named = {
        (name, s.where())
        for doc in DOCS
        for s in snippets(doc)
        for name in re.findall(r"\bPERMIS_[A-Z0-9_]*[A-Z0-9]\b", s.text)
    }
    unknown = sorted(where for name, where in named if name not in settings and name not in read)
    assert unknown == []


def test_every_make_target_named_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    named = {
        (target, s.where())
        for doc in DOCS
        for s in snippets(doc)
        for target in re.findall(r"(?:^|&&\s*|\s)make ([a-z][\w-]*)", s.text)
    }
    assert {t for t, _ in named} >= {"demo", "test"}
    assert sorted(f"{where}: make {t}" for t, where in named if t not in targets) == []


def test_every_python_file_named_exists() -> None:
    files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if ".venv" not in p.parts]
    named = {
        (name, s.where())
        for doc in DOCS
        for s in snippets(doc)
        for name in re.findall(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.py)\b", s.text)
    }
    missing = sorted(
        f"{where}: {name}"
        for name, where in named
        if not any(f == name or f.endswith("/" + name) for f in files)
    )
    assert len(named) > 30 and missing == []


# -- the README ------------------------------------------------------------------------------


def test_the_readme_starts_with_make_demo_and_make_test() -> None:
    first_block = README.read_text(encoding="utf-8").split("```")[1]
    assert re.search(r"^make demo\b", first_block, re.MULTILINE)
    assert re.search(r"^make test\b", first_block, re.MULTILINE)


def test_the_readme_says_why_each_library_is_here() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    names = {re.split(r"[\[=<>~!;]", requirement)[0].lower() for requirement in pinned}
    text = README.read_text(encoding="utf-8").split("## Why each library is here")[1]
    rows = dict(re.findall(r"^\| `([\w.-]+)` \| (.+?) \|$", text, re.MULTILINE))
    assert set(rows) == names
    assert all(len(why.split()) >= 3 for why in rows.values())


def test_the_readme_tells_the_demo_steps() -> None:
    source = (ROOT / "src" / "permis" / "entrypoints" / "demo.py").read_text(encoding="utf-8")
    steps = sorted(
        re.findall(r'_title\(echo, "(\d+)\. ([^"]+)"\)', source), key=lambda step: int(step[0])
    )
    section = README.read_text(encoding="utf-8").split("## The demo")[1].split("\n## ")[0]
    told = re.findall(r"^(\d+)\. (.+)$", section, re.MULTILINE)
    assert len(steps) >= 13
    assert told == steps


def test_the_readme_lists_every_doc() -> None:
    text = README.read_text(encoding="utf-8").split("## Documentation")[1].split("\n## ")[0]
    listed = set(re.findall(r"`docs/([\w-]+\.md)`", text))
    assert listed == {p.name for p in (ROOT / "docs").glob("*.md")}


def test_the_policy_shown_is_the_example_the_tests_read() -> None:
    text = (ROOT / "docs" / "pressure.md").read_text(encoding="utf-8")
    shown = re.findall(r"^```toml\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    example = (ROOT / "docs" / "examples" / "policy.toml").read_text(encoding="utf-8")
    lines = example.splitlines(keepends=True)
    heading = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    assert shown == ["".join(lines[heading:])]  # the file less its heading comment
