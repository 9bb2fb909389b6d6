"""PICS registry and applicability expressions."""

from __future__ import annotations

import pytest

from conformance.catalog import load_catalog
from conformance.catalog.pics import (
    PICS_OPTIONS,
    And,
    Compare,
    Const,
    Name,
    Not,
    Or,
    PicsError,
    check_expression,
    evaluate,
    names_in,
    parse_expression,
)


def test_registry_shape() -> None:
    for name, opt in PICS_OPTIONS.items():
        assert opt.name == name and opt.description and opt.source
        if opt.kind == "bool":
            assert isinstance(opt.default, bool) and opt.choices == ()
        else:
            assert opt.kind == "choice" and opt.default in opt.choices
    for name in (
        "role.pf",
        "role.cf",
        "role.client",
        "pf.media_path",
        "pf.client_subscribe_mode",
        "client.subscribe_during_inactive_delivery",
        "pf.admin_trigger",
    ):
        assert name in PICS_OPTIONS
    assert PICS_OPTIONS["pf.pps_other_policy"].choices == ("accept-contact", "configuration")


def test_every_option_is_used_or_a_role() -> None:
    used: set[str] = set()
    for r in load_catalog():
        used |= names_in(r.applicability)
    unused = {n for n in PICS_OPTIONS if not n.startswith("role.")} - used
    # pf.recording only widens the stimulus of the storage checks (allow-offline-storage false)
    assert unused == {"pf.recording"}


def test_parse_precedence() -> None:
    assert parse_expression("a or b and not c") == Or(
        (Name("a", 0), And((Name("b", 5), Not(Name("c", 15)))))
    )
    assert parse_expression("(a or b) and c") == And(
        (Or((Name("a", 1), Name("b", 6))), Name("c", 13))
    )
    assert parse_expression('x.y == "v"') == Compare("x.y", "==", "v", 0)
    assert parse_expression("true") == Const(True)
    assert parse_expression("not not false") == Not(Not(Const(False)))


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty expression", 0),
        ("a and", "expected a name", 5),
        ("(a or b", r"expected '\)'", 7),
        ("a b", "expected 'and', 'or' or end", 2),
        ("a == b", "expected a double-quoted value", 5),
        ('a == "open', "unterminated string", 5),
        ("a & b", "unexpected character '&'", 2),
        ("and", "expected a name", 0),
    ],
)
def test_syntax_errors(text: str, message: str, position: int) -> None:
    with pytest.raises(PicsError, match=message) as exc:
        parse_expression(text)
    assert exc.value.position == position
    assert f"at position {position}" in str(exc.value)


def test_check_against_registry() -> None:
    check_expression('pf.media_path and pf.client_subscribe_mode == "b2bua"')
    with pytest.raises(
        PicsError,
        match=r"unknown PICS option 'media_path' \(did you mean "
        r"pf\.media_path\?\)",
    ):
        check_expression("media_path")
    with pytest.raises(PicsError, match="choice option"):
        check_expression("pf.client_subscribe_mode")
    with pytest.raises(PicsError, match="bool option"):
        check_expression('pf.media_path == "yes"')
    with pytest.raises(PicsError, match=r"'proxy' is not a value") as exc:
        check_expression('not pf.client_subscribe_mode == "proxy"')
    assert exc.value.position == 4


def test_evaluate_with_defaults() -> None:
    assert evaluate("true", {}) and not evaluate("false", {})
    assert evaluate("pf.media_path", {}) is True  # default
    assert evaluate("pf.media_path", {"pf.media_path": False}) is False
    assert evaluate("not pf.allows_anonymity", {"pf.allows_anonymity": False})
    mode = 'pf.client_subscribe_mode == "forward"'
    assert evaluate(mode, {})
    assert not evaluate(mode, {"pf.client_subscribe_mode": "b2bua"})
    assert evaluate('pf.client_subscribe_mode != "forward"', {"pf.client_subscribe_mode": "b2bua"})
    expr = parse_expression("pf.media_path and (pf.gruu or not pf.deferred_delivery)")
    assert evaluate(expr, {"pf.gruu": True})
    assert not evaluate(expr, {})
    assert evaluate(expr, {"pf.deferred_delivery": False})


def test_evaluate_rejects_bad_values() -> None:
    with pytest.raises(PicsError, match="must be true or false"):
        evaluate("pf.media_path", {"pf.media_path": "yes"})
    with pytest.raises(PicsError, match="must be a string"):
        evaluate('pf.client_subscribe_mode == "b2bua"', {"pf.client_subscribe_mode": True})
    with pytest.raises(PicsError, match="unknown PICS option"):
        evaluate("pf.nothing", {})


def test_names_in() -> None:
    assert names_in("true") == frozenset()
    assert names_in('a and not (b or c == "x")') == {"a", "b", "c"}


def test_no_eval() -> None:
    with pytest.raises(PicsError):
        parse_expression("__import__('os')")


def test_catalogue_applicability_evaluates_for_defaults() -> None:
    for r in load_catalog():
        evaluate(r.applicability, {})
