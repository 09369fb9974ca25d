"""The README's "In web apps" examples are the tested example modules, character for character."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = Path(__file__).resolve().parent / "examples"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_python_block_in_web_apps_is_an_example_module_and_back() -> None:
    section = _section((ROOT / "README.md").read_text(encoding="utf-8"), "In web apps")
    blocks = _BLOCK.findall(section)
    examples = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(EXAMPLES.glob("*.py"))
        if path.name != "__init__.py"
    }
    assert len(blocks) == len(examples)
    shown = set(blocks)
    missing = [name for name, code in examples.items() if code not in shown]
    assert not missing, f"README's 'In web apps' does not show these as they are: {missing}"
