"""The committed golden vectors are exactly what the generator produces today."""
import filecmp
import subprocess
import sys
from pathlib import Path

VECTORS = Path(__file__).parent / "vectors"


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_committed_vectors_are_fresh(tmp_path):
    subprocess.run([sys.executable, str(VECTORS / "generate.py"), "--out", str(tmp_path)], check=True)
    generated = _files(tmp_path)
    assert generated, "the generator wrote nothing"
    committed = {f for f in _files(VECTORS) if not f.endswith(".py")}
    assert generated == committed, f"vector files differ: only generated {sorted(generated - committed)}, only committed {sorted(committed - generated)}"
    stale = [f for f in sorted(generated) if not filecmp.cmp(tmp_path / f, VECTORS / f, shallow=False)]
    assert not stale, f"stale golden vectors (run `make vectors` and review the diff): {stale}"
