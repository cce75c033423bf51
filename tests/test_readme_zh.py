"""README.zh-CN.md is README.md in Chinese: the same sections at the same levels in the same order, and the same
code blocks, so a reader of either finds the same thing in the same place. A section added to one README and not
to the other fails here, naming the first heading where the two part ways."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EN = ROOT / "README.md"
ZH = ROOT / "README.zh-CN.md"

FENCE = re.compile(r"^(`{3,})(\S*)")
CODE_SPAN = re.compile(r"`([^`]+)`")
CJK = re.compile(r"[\u4e00-\u9fff]")


def outline(path: Path) -> tuple[list[tuple[int, str]], list[tuple[str, list[str]]]]:
    """The headings (level, text) outside code blocks, and the code blocks (info string, lines)."""
    headings: list[tuple[int, str]] = []
    blocks: list[tuple[str, list[str]]] = []
    fence = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = FENCE.match(line)
        if fence:
            if match and match.group(1) == fence and not match.group(2):
                fence = ""
            else:
                blocks[-1][1].append(line)
        elif match:
            fence = match.group(1)
            blocks.append((match.group(2), []))
        elif line.startswith("#"):
            marks, _, text = line.partition(" ")
            headings.append((len(marks), text.strip()))
    assert not fence, f"{path.name}: a code block is not closed"
    return headings, blocks


def command_part(line: str) -> str:
    """A shell line without its trailing comment, which the translation may put in its own language."""
    return re.split(r"\s+#\s", line, maxsplit=1)[0].rstrip()


def test_both_readmes_have_the_same_sections_at_the_same_levels_in_the_same_order() -> None:
    english, _ = outline(EN)
    chinese, _ = outline(ZH)
    for position, (en, zh) in enumerate(zip(english, chinese, strict=False), start=1):
        assert en[0] == zh[0], f"section {position}: '{en[1]}' is level {en[0]}, its translation '{zh[1]}' {zh[0]}"
        assert CODE_SPAN.findall(en[1]) == CODE_SPAN.findall(zh[1]), (
            f"section {position}: '{zh[1]}' does not match '{en[1]}' (the commands in a heading stay as they are)")
    longer = english if len(english) > len(chinese) else chinese
    assert len(english) == len(chinese), (
        f"README.md has {len(english)} headings, README.zh-CN.md {len(chinese)}; the first without a counterpart: "
        f"'{longer[min(len(english), len(chinese))][1]}'")


def test_the_chinese_readme_is_written_in_chinese() -> None:
    chinese, _ = outline(ZH)
    prose = [text for level, text in chinese if level == 2 and not CJK.search(text)]
    # Headings that are only a command name (`## batch`) need no translation; every other one does.
    assert all(re.fullmatch(r"[a-z][a-z -]*", text) for text in prose), prose


def test_both_readmes_show_the_same_code_blocks_with_the_same_commands() -> None:
    _, english = outline(EN)
    _, chinese = outline(ZH)
    assert [info for info, _ in english] == [info for info, _ in chinese]
    for (info, en_lines), (_, zh_lines) in zip(english, chinese, strict=True):
        if info in ("bash", "sh", "python", "json", "toml"):
            assert [command_part(line) for line in en_lines] == [command_part(line) for line in zh_lines]
        else:  # transcripts show the Chinese messages: the same number of lines, the same commands typed
            assert len(en_lines) == len(zh_lines)
            assert [line for line in en_lines if line.startswith("$ ")] == [
                line for line in zh_lines if line.startswith("$ ")]
