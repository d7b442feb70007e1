"""Every kind of audit entry the code can write has a sentence in both languages, with no code in
the Chinese. The kinds are collected from the writers themselves: the command and button
registries, and the literal actions and outcomes of every audit write in the source, so a new
action or outcome without its sentence fails here."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from cards.audit_sentences import OUTCOMES, PHRASES, REASONS, SENTENCES, known, mark, sentence
from handlers.registry import loaded

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    path
    for folder in ("handlers", "bot")
    for path in sorted((ROOT / folder).rglob("*.py"))
    if "emulator" not in path.parts
]
WRITERS = {"record", "_record", "audit", "_audit", "Act"}  # calls that write or build an entry
GENERIC = {"refused": "refused", "failed": "error"}  # helpers whose outcome is their name's


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:  # f"error {exc.code}"
        head = node.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value.split()[0] if head.value.strip() else None
    return None


def _parameters(tree: ast.Module) -> dict[str, list[str]]:
    """The positional parameters of the module's functions and methods, by name (a method's
    without `self`)."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in node.args.posonlyargs + node.args.args]
            found[node.name] = names[1:] if names[:1] == ["self"] else names
    return found


def _arguments(call: ast.Call, parameters: list[str]) -> dict[str, ast.expr]:
    """The call's arguments by parameter name, positional ones included."""
    bound = dict(zip(parameters, call.args, strict=False))
    return bound | {k.arg: k.value for k in call.keywords if k.arg}


def written_kinds() -> tuple[set[str], set[str]]:
    """The literal actions and outcomes of every audit write in the source."""
    actions: set[str] = set()
    outcomes: set[str] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        local = _parameters(tree) | {"Act": ["outcome", "detail", "facts", "account_id"]}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node)
            if name in GENERIC:
                outcomes.add(GENERIC[name])
            if name not in WRITERS:
                continue
            arguments = _arguments(node, local.get(name, []))
            if (action := _literal(arguments.get("action"))) is not None:
                actions.add(action)
            if (outcome := _literal(arguments.get("outcome"))) is not None:
                outcomes.add(outcome)
    return actions, outcomes


WRITTEN_ACTIONS, WRITTEN_OUTCOMES = written_kinds()
ACTIONS = sorted(set(loaded().commands) | set(loaded().buttons) | WRITTEN_ACTIONS)
OUTCOMES_WRITTEN = sorted(WRITTEN_OUTCOMES)


def test_the_collection_finds_the_writers():
    # If these go missing, the collection above stopped seeing the writers: fix it.
    assert {"usage", "expire", "withdrawn", "leaver"} <= WRITTEN_ACTIONS
    assert {"requested", "approved", "re-asked", "cancelled", "expired", "asked", "disabled"} <= (
        WRITTEN_OUTCOMES
    )
    assert {"refused", "error", "no match", "usage error", "uncertain", "ok"} <= WRITTEN_OUTCOMES


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_says_what_it_does(action):
    assert action in PHRASES, f"add what `{action}` does to PHRASES in cards/audit_sentences.py"


@pytest.mark.parametrize("outcome", OUTCOMES_WRITTEN)
def test_every_outcome_has_a_sentence(outcome):
    rows = {o for _, o in SENTENCES}
    assert outcome in OUTCOMES or outcome in rows, (
        f"add a row for the outcome `{outcome}` to SENTENCES in cards/audit_sentences.py"
    )


FACTS = {
    "owner": {"en": "Chen Jing", "zh": "陈静"},
    "request": 1,
    "points": 1200,
    "cash": [["CNY", "300.00"]],
    "order": "rb-1-0a1b",
    "why": "not_admin",
    "what": "accounts",
    "count": 4,
    "file": "referral-2026-11-22.csv",
    "name": {"en": "Chen Jing", "zh": "陈静"},
}
KINDS = sorted({(a, o) for a in ACTIONS for o in OUTCOMES} | set(SENTENCES))
CODES = set(ACTIONS) | set(OUTCOMES_WRITTEN) | set(OUTCOMES) | set(REASONS) | {"ok", "error"}
AT = re.compile(r"<at id=[^>]*></at>")


@pytest.mark.parametrize(("action", "outcome"), KINDS, ids=[f"{a}-{o}" for a, o in KINDS])
def test_every_kind_reads_in_both_languages_without_codes_in_chinese(action, outcome):
    assert known(action, outcome)
    row = {
        "actor": "ou_li",
        "action": action,
        "outcome": outcome,
        "account_id": "6900001",
        "detail": "withdrawal #1: not_admin",
        "facts": json.dumps(FACTS),
    }
    said = sentence(row)
    assert said.en.strip() and said.zh.strip()
    zh = AT.sub("", said.zh)
    raw = [c for c in CODES if re.search(rf"(?<![A-Za-z_-]){re.escape(c)}(?![A-Za-z_-])", zh)]
    assert raw == [], f"{said.zh!r} shows codes {raw}"
    assert re.search(r"[\u4e00-\u9fff]", zh)
    kind = outcome.split()[0]
    if kind in ("refused",):
        assert mark(row) == "⛔"
    elif kind in ("error", "usage", "no", "uncertain"):
        assert mark(row) == "⚠️"
    else:
        assert mark(row) == ""
