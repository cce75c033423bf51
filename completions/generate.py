"""Regenerate the checked-in completion scripts from the Typer app:  python completions/generate.py

The scripts are thin: on TAB they run `glm-image` with _GLM_IMAGE_COMPLETE set, and the program answers
with the candidates (commands, options, styles, models, sizes for the chosen model, setting names).
tests/test_completion.py fails when a checked-in script differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROG_NAME = "glm-image"
COMPLETE_VAR = "_GLM_IMAGE_COMPLETE"
FILES = {"bash": "glm-image.bash", "zsh": "glm-image.zsh", "fish": "glm-image.fish", "powershell": "glm-image.ps1"}


def scripts() -> dict[str, str]:
    """File name -> script text, as Typer's own --show-completion would print it."""
    from typer._completion_shared import get_completion_script

    return {name: get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell) + "\n"
            for shell, name in FILES.items()}


def main() -> None:
    folder = Path(__file__).resolve().parent
    for name, text in scripts().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(folder / name)


if __name__ == "__main__":
    sys.exit(main())
