"""The one-way import rule: hil -> dcagent -> host. `host` never imports dcagent or hil;
`dcagent` never imports hil (except the CLI's exit-code mapping, which names HilError)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED_EXCEPTIONS = {
    ("dcagent", "dcagent/cli/exit_codes.py", "hil"),
    # `dcagent hil run`: the CLI front of the harness; it imports hil inside its func only
    # (checked below), so importing dcagent never imports hil.
    ("dcagent", "dcagent/cli/hil.py", "hil"),
    # the main job's device half (`dcagent demo`): the same rule
    ("dcagent", "dcagent/cli/demo_device.py", "hil"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    "package, forbidden",
    [("host", {"dcagent", "hil"}), ("dcagent", {"hil"})],
)
def test_imports_point_one_way(package, forbidden):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for name in _imports(path) & forbidden:
            if (package, rel, name) not in ALLOWED_EXCEPTIONS:
                offenders.append(f"{rel} imports {name}")
    assert not offenders, "imports must point hil -> dcagent -> host:\n" + "\n".join(offenders)


@pytest.mark.parametrize("module", ["dcagent/cli/hil.py", "dcagent/cli/demo_device.py"])
def test_hil_cli_imports_hil_only_inside_functions(module):
    tree = ast.parse((ROOT / module).read_text())
    top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = {alias.name.split(".")[0] for node in top if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in top if isinstance(node, ast.ImportFrom) and node.module}
    assert "hil" not in names
