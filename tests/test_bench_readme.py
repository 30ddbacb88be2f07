"""bench/readme.py: a measured section is replaced in place, or appended, and nothing else moves."""
from __future__ import annotations

from bench.readme import replace_section


def test_a_section_is_replaced_up_to_the_next_heading(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Bench\n\n## A\n\nold a\n\n## B\n\nold b\n\n## C\n\nc\n")
    replace_section("## B", "new b\n| x |", readme)
    assert readme.read_text() == "# Bench\n\n## A\n\nold a\n\n## B\n\nnew b\n| x |\n\n## C\n\nc\n"
    replace_section("## C", r"c \1 with a backslash", readme)  # the body is text, not a pattern
    assert readme.read_text().endswith("## C\n\nc \\1 with a backslash\n\n")


def test_a_missing_section_is_appended(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Bench\n\n## A\n\na\n")
    replace_section("## D", "d", readme)
    assert readme.read_text() == "# Bench\n\n## A\n\na\n\n## D\n\nd\n"
    assert not (tmp_path / "README.tmp").exists()
