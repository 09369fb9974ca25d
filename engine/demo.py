"""`make demo`: verify the bundled sample with the CLI and show the table.

The sample covers every state and flag the offline stages produce.
"""

from __future__ import annotations

import sys

from engine.cli import main as cli_main
from engine.datasets import default_data_dir


def main() -> int:
    sample = default_data_dir() / "demo_addresses.txt"
    print(f"mailprobe demo: offline checks of {sample.name} (syntax, typos, flags)\n")
    code = cli_main(["verify", "--offline", "--format", "table", "-i", str(sample)])
    print("\nThe same with --clean, on addresses pasted with stray characters:\n")
    messy = [" <Mailto:Jane.Doe@Gmail.com>, ", "jane doe@gmail.com;", "(bob@python.org)"]
    code2 = cli_main(["verify", "--offline", "--clean", "--format", "table", *messy])
    return code or code2


if __name__ == "__main__":
    sys.exit(main())
