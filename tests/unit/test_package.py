"""The package's promises: public API, schema head, generated docs, rule metadata."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import permis
from permis.adapters.db.database import HEAD_REVISION
from permis.domain.contact import parse_contact
from permis.domain.decide import decide
from permis.domain.model import Channel, CheckRequest, Facts, ReasonCode
from permis.domain.rules.fr import fr_pack

ROOT = Path(__file__).resolve().parents[2]


def test_public_api_is_exactly_all() -> None:
    for name in permis.__all__:
        assert getattr(permis, name) is not None
    with pytest.raises(AttributeError):
        _ = permis.nothing_here  # type: ignore[attr-defined]


def test_import_builds_nothing_and_stays_light() -> None:
    code = (
        "import sys, permis.entrypoints.cli, permis.services.gate; "
        "bad = [m for m in ('sqlalchemy', 'alembic', 'holidays', 'email_validator', "
        "'fastapi', 'starlette', 'uvicorn', 'polars') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_head_revision_is_alembics_head() -> None:
    from permis.adapters.db.migrate import head_revision

    assert head_revision() == HEAD_REVISION


def test_cli_docs_are_generated_from_the_code(tmp_path: Path) -> None:
    out = tmp_path / "cli.md"
    subprocess.run(
        [
            Path(sys.executable).parent / "typer",
            "permis.entrypoints.cli",
            "utils",
            "docs",
            "--name",
            "permis",
            "--title",
            "permis command line",
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (ROOT / "docs" / "cli.md").read_text(), "run `make docs`"


def test_every_rule_has_a_unique_id_and_a_reference() -> None:
    rules = fr_pack().rules
    assert len({r.id for r in rules}) == len(rules)
    assert all(r.reference and r.summary and r.channels and r.audiences for r in rules)


@pytest.mark.parametrize(
    ("contact", "channel"),
    [
        ("jean@example.org", Channel.CALL),
        ("jean@example.org", Channel.SMS),
        ("06 12 34 56 78", Channel.EMAIL),
    ],
)
def test_a_channel_that_cannot_reach_the_contact_point_is_refused(
    contact: str, channel: Channel
) -> None:
    request = CheckRequest(
        parse_contact(contact), channel, datetime.fromisoformat("2026-11-24T10:30:00+01:00")
    )
    decision = decide(request, Facts(), fr_pack())
    assert not decision.allowed
    assert ReasonCode.INVALID_CONTACT in [r.code for r in decision.reasons]
    assert decision.next_allowed_at is None


def test_all_lists_every_export() -> None:
    assert sorted(permis.__all__) == sorted(permis._EXPORTS)


def test_rules_doc_is_generated_from_the_packs() -> None:
    from permis.domain.rules.registry import all_packs
    from permis.entrypoints.rulesdoc import rules_markdown

    expected = rules_markdown(list(all_packs())) + "\n"
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == expected, "run `make docs`"


def test_every_module_imports_on_its_own() -> None:
    """Each module, imported first (no other ``permis`` module loaded), imports: no cycle that
    only an import order elsewhere hides. One interpreter; ``permis.*`` is dropped in between."""
    code = """
import importlib, pkgutil, sys
import permis
names = [m.name for m in pkgutil.walk_packages(permis.__path__, "permis.")
         if ".migrations.versions." not in m.name]
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "permis" or m.startswith("permis.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {type(error).__name__}: {error}")
print(len(names))
print("\\n".join(failed))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, *failed = out.stdout.strip().split("\n")
    assert int(count) > 100
    assert [line for line in failed if line] == []
