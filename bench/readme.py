"""bench/README.md's measured sections: each bench that writes one replaces it in place."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def replace_section(title: str, body: str, readme: Path = README) -> None:
    """Replace the section headed `title` (a "## ..." line, up to the next "## " heading) with
    `title` and `body`, or append it when absent; written atomically (a temporary file renamed)."""
    text = readme.read_text()
    section = f"{title}\n\n{body.rstrip()}\n"
    pattern = re.compile(rf"^{re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = readme.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(readme)
