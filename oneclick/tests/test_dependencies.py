"""The apps depend on each other one way only (DESIGN: trading → strategies, vault,
accounts; vault → accounts; every app → sealed), read from the source with ``ast``.

Every import counts, module-level or inside a function: an import hidden in a
function is still a dependency. Tests and migrations are left out (tests may use
any app's factories; migrations name the fields they were written with).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("sealed", "paper", "accounts", "vault", "strategies", "trading", "oneclick", "testing")

# The project's wiring: it imports every app, so no app may import it back.
WIRING = frozenset(
    {"oneclick.urls", "oneclick.routing", "oneclick.asgi", "oneclick.wsgi", "oneclick.apps"}
)

# What each app may import from the others (an app's own modules are always allowed).
# ``oneclick`` helpers (site URL, mail, settings guards) are open to all but the wiring.
ALLOWED: dict[str, tuple[str, ...]] = {
    "sealed": (),
    # The simulated exchange stands alone, like a real one: it knows nothing of ours.
    "paper": ("sealed",),
    "accounts": ("sealed", "oneclick"),
    "vault": ("sealed", "oneclick", "accounts", "paper"),
    # Market data reaches vault's door to exchanges through strategies.hooks, which
    # the wiring (oneclick.apps) fills at start-up.
    "strategies": ("sealed", "oneclick", "accounts"),
    "trading": ("sealed", "oneclick", "accounts", "vault", "strategies"),
    "oneclick": ("sealed", "accounts", "vault", "strategies", "trading"),
    # Test support (the Binance emulator, exchange fakes) may use anything; nothing
    # of the product imports it (it is absent from every rule above).
    "testing": ("sealed", "paper", "accounts", "vault", "strategies", "trading", "oneclick"),
}


def production_modules(app: str) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # ``from vault import services`` imports vault.services.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def allowed(app: str, module: str) -> bool:
    top = module.split(".")[0]
    if top not in APPS or top == app:
        return True
    if module in WIRING and app != "oneclick":
        return False
    return any(module == rule or module.startswith(rule + ".") for rule in ALLOWED[app])


def violations(app: str) -> list[str]:
    found = []
    for path in production_modules(app):
        for line, module in imported_modules(path):
            if not allowed(app, module):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("app", APPS)
def test_each_app_imports_only_the_apps_below_it(app):
    assert violations(app) == []


def test_sealed_imports_no_app_of_the_project():
    modules = {m for path in production_modules("sealed") for _, m in imported_modules(path)}
    assert {m.split(".")[0] for m in modules} & (set(APPS) - {"sealed"}) == set()


def test_nothing_below_trading_imports_it():
    for app in ("sealed", "accounts", "vault", "strategies"):
        assert not [v for v in violations(app) if "imports trading" in v]
        assert not allowed(app, "trading.models")


def test_the_check_catches_an_import_hidden_in_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from trading.models import Bot\n    return Bot\n")
    assert (2, "trading.models") in imported_modules(module)
    assert not allowed("accounts", "trading.models")
    assert not allowed("strategies", "vault.models")
    assert not allowed("vault", "oneclick.urls")


@pytest.mark.parametrize("app", ["accounts", "vault", "trading", "strategies"])
def test_services_take_what_they_need_not_an_http_request(app):
    services = ROOT / app / "services.py"
    assert [m for _, m in imported_modules(services) if m.startswith("django.http")] == []


def test_no_product_code_imports_the_test_support():
    for app in set(APPS) - {"testing"}:
        assert not allowed(app, "testing.binance_emulator")
        assert not [v for v in violations(app) if "imports testing" in v]


def unexplained_function_imports(path: Path) -> list[int]:
    """Lines of imports inside functions with no comment on them or just above them."""
    lines = path.read_text().splitlines()
    found = []
    for function in ast.walk(ast.parse("\n".join(lines), filename=str(path))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            # The comment may stand above a group of imports, or on the line itself.
            above = lines[max(0, node.lineno - 5) : node.lineno]
            if not any("#" in line for line in above):
                found.append(node.lineno)
    return found


def test_an_import_inside_a_function_says_which_cycle_or_start_up_cost_it_avoids():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        if app != "testing"
        for path in production_modules(app)
        for line in unexplained_function_imports(path)
    ]
    assert found == []


def test_the_import_check_sees_a_bare_import_in_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import json\n    return json\n")
    assert unexplained_function_imports(module) == [2]
    module.write_text("def f():\n    # A cycle: json imports this module.\n    import json\n")
    assert unexplained_function_imports(module) == []
