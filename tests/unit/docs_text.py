"""What the docs say, read out of their Markdown: ``permis`` command lines, HTTP routes,
``PERMIS_*`` variables and ``make`` targets, each with the file and line it came from.

Only code is read: fenced blocks and inline code spans (which may run over a line break); prose
that merely names ``permis`` is not a command. Nothing here runs a command.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import typer
from typer._click.core import Command, Parameter  # Typer 0.28 carries its own copy of Click
from typer.core import TyperGroup as Group

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^ *```[^\n]*\n(.*?)^ *```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
# A command starts a line of a block (after an optional prompt) or follows a shell operator.
BLOCK_COMMAND = re.compile(r"(?:^|&&|\|\||;)\s*(?:\$\s+)?(permis\s.*?|permis)\s*(?=&&|\|\||;|$)")
SHELL_ENDS = {"|", ">", ">>", "2>", "2>&1", "<", "&"}  # a pipe or a redirection ends the command
METHOD = r"(?:GET|POST|PUT|PATCH|DELETE|HEAD)"
ROUTE = re.compile(rf"(?:(?<![\w/])({METHOD}(?:/{METHOD})*)\s+)?(?:^|(?<=[\s(]))(/[^\s`),]*)")
# Paths of the file system, not of the HTTP app.
FILE_PATHS = ("/usr/", "/work/", "/tmp/", "/etc/", "/var/", "/dev/", "/opt/", "/home/")
PLACEHOLDER = re.compile(r"^(\[.*|[A-Z][A-Z0-9_.]*\]?|\.\.\.|<.*>|…)$")


@dataclass(frozen=True)
class Snippet:
    """A piece of code in a doc: its text and where it starts."""

    doc: str
    line: int
    text: str

    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def snippets(path: Path) -> list[Snippet]:
    return snippets_in(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


def snippets_in(text: str, name: str) -> list[Snippet]:
    """Every line of every fenced block (a ``\\`` continuation joined), and every inline span."""
    found: list[Snippet] = []
    for block in FENCE.finditer(text):
        first = text.count("\n", 0, block.start(1)) + 1
        joined = re.sub(r"\\\n", " ", block.group(1))
        offsets = _line_numbers(block.group(1))
        for index, line in enumerate(joined.split("\n")):
            found.append(Snippet(name, first + offsets[index], line))
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for span in INLINE.finditer(prose):
        line = prose.count("\n", 0, span.start()) + 1
        found.append(Snippet(name, line, " ".join(span.group(2).split())))
    return found


def _line_numbers(block: str) -> list[int]:
    """For each line of the block with continuations joined, its first line's offset."""
    lines = block.split("\n")
    return [i for i in range(len(lines)) if i == 0 or not lines[i - 1].endswith("\\")]


def commands(snippet: Snippet) -> list[list[str]]:
    """The ``permis`` command lines in a snippet, each as its words after ``permis``."""
    found = []
    for match in BLOCK_COMMAND.finditer(snippet.text):
        try:
            words = shlex.split(match.group(1), comments=True)
        except ValueError:  # an unbalanced quote in prose-like code: split on blanks
            words = match.group(1).split()
        ends = [i for i, w in enumerate(words) if w in SHELL_ENDS] + [len(words)]
        if words and words[0] == "permis":
            found.append(words[1 : ends[0]])
    return found


def documented_commands() -> list[tuple[Snippet, list[str]]]:
    return [(s, words) for doc in DOCS for s in snippets(doc) for words in commands(s)]


# -- checking a command line against the Typer app, without running it ---------------------------


def command_problems(root: Command, words: list[str]) -> list[str]:
    """What in ``permis WORDS`` the app does not have: a subcommand, an option, or room for
    the arguments given. Placeholders (``FILE``, ``[--out DIR]``, ``C``) stand for values;
    ``a|b`` in a command's place names either."""
    command, path = root, ["permis"]
    for index, word in enumerate(words):
        if word.startswith("-") or not isinstance(command, Group) or PLACEHOLDER.match(word):
            return _usage_problems(command, " ".join(path), words[index:])
        names = word.strip("[]()").split("|")
        missing = [n for n in names if n not in command.commands]
        if missing:
            return [f"{' '.join(path)} has no command {'|'.join(missing)}"]
        if len(names) > 1:  # a|b: each, with the words after
            rest = words[index + 1 :]
            return sorted({p for n in names for p in command_problems(root, [*path[1:], n, *rest])})
        command, path = command.commands[names[0]], [*path, names[0]]
    return _usage_problems(command, " ".join(path), [])


def _usage_problems(command: Command, name: str, words: list[str]) -> list[str]:
    """Unknown ``--options``, and more arguments than the command takes. An option that takes
    a value takes the next word; ``...`` and ``URL ...`` say "and so on"."""
    options = {o: p for p in command.params for o in (*p.opts, *p.secondary_opts) if "-" in o[0]}
    arguments = [p for p in command.params if not any(o.startswith("-") for o in p.opts)]
    etc = {"...", "…", "OPTIONS", "ARGS..."}  # "and so on", and a usage line's ``[OPTIONS]``
    problems: list[str] = []
    given: list[str] = []
    skip = False
    for word in (w for w in words if w.strip("[]") not in etc):
        bare = word.strip("[]()")
        if skip:
            skip = False
        elif bare.startswith("--") and bare.split("=")[0] != "--help":
            option = options.get(bare.split("=")[0])
            if option is None:
                problems.append(f"{name} has no option {bare.split('=')[0]}")
            # an unknown option is taken to have a value: one mistake, one complaint
            skip = "=" not in bare and (option is None or not _is_flag(option))
        elif not bare.startswith("-") and bare:
            given.append(bare)
    room = sum(p.nargs if p.nargs > 0 else 10**6 for p in arguments)
    if isinstance(command, Group):
        room = 10**6  # a group's own usage: ``permis [OPTIONS] COMMAND [ARGS]...``
    if len(given) > room:
        problems.append(f"{name} takes {room} argument(s), the doc gives {' '.join(given)}")
    return problems


def _is_flag(option: Parameter) -> bool:
    return bool(getattr(option, "is_flag", False)) or getattr(option, "count", False) is True


def typer_root() -> Command:
    from permis.entrypoints.cli import app as permis_app

    return typer.main.get_command(permis_app)


# -- HTTP routes, variables, make targets ---------------------------------------------------------


def routes(snippet: Snippet) -> list[tuple[tuple[str, ...], str]]:
    """``(methods, path)`` for each route-like path in an inline span (``()`` when no method is
    written); file-system paths are left out."""
    found = []
    for match in ROUTE.finditer(snippet.text):
        methods, path = match.group(1), match.group(2).rstrip(".,:;")
        if path.startswith(FILE_PATHS) or path in {"/", ""} or "/.." in path:
            continue
        found.append((tuple(methods.split("/")) if methods else (), path))
    return found


def sample_path(path: str) -> str:
    """A concrete path for a documented one: ``{id}`` becomes ``1``, the query goes."""
    return re.sub(r"\{[^}]*\}", "1", path.split("?", maxsplit=1)[0])
