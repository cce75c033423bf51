"""Prompts in other encodings (issue 26, item 10): a GBK/GB18030 prompts file, as older Windows Notepad saves it,
is named as such with the flag that reads it (`--encoding gb18030`) instead of "not UTF-8 at byte 4"; UTF-16
and UTF-8 with a BOM are read as they are; `--encoding` works for batch's input and generate's `-`."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from tests.fake_bigmodel import SYNC_ROUTE

PROMPTS = "一只橘猫\n水墨山水\n"


def sent(fake) -> list[str]:
    return sorted(call.body["prompt"] for call in fake.seen(SYNC_ROUTE))


def test_a_gbk_file_is_named_gb18030_with_the_flag_that_reads_it(cli, fake) -> None:
    Path("prompts.txt").write_bytes(PROMPTS.encode("gbk"))
    result = cli("batch", "prompts.txt", "-o", "out")
    assert result.exit_code == 2 and fake.requests == []
    assert "not UTF-8 (from byte 4), but it reads as GB18030" in result.stderr
    assert 'beginning "一只橘猫"' in result.stderr and "--encoding gb18030" in result.stderr
    chinese = cli("--lang", "zh", "batch", "prompts.txt", "-o", "out", "--json")
    assert "可以按 GB18030" in chinese.stderr and "开头为“一只橘猫”" in chinese.stderr
    assert json.loads(chinese.stdout.splitlines()[-1])["error"]["code"] == "BATCH_UNREADABLE"


def test_encoding_gb18030_reads_it_and_the_resume_command_keeps_the_flag(cli, fake) -> None:
    Path("prompts.txt").write_bytes(PROMPTS.encode("gb18030"))
    first = cli("batch", "prompts.txt", "-o", "out", "--encoding", "gb18030", "--max-images", "1")
    assert first.exit_code == 0, first.stderr
    assert "glm-image batch prompts.txt -o out --encoding gb18030" in first.stderr
    again = cli("batch", "prompts.txt", "-o", "out", "--encoding", "gb18030")
    assert again.exit_code == 0, again.stderr
    assert sent(fake) == ["一只橘猫", "水墨山水"]  # each bought once: the same text, the same keys
    assert sorted(p.name for p in Path("out").glob("*.png")) == ["0001-一只橘猫.png", "0002-水墨山水.png"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_bom_says_how_to_read_the_file(cli, fake, codec: str) -> None:
    boms = {"utf-16": b"", "utf-16-be": codecs.BOM_UTF16_BE, "utf-32": b"", "utf-8-sig": b""}
    Path("prompts.txt").write_bytes(boms[codec] + PROMPTS.replace("\n", "\r\n").encode(codec))
    result = cli("batch", "prompts.txt", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert sent(fake) == ["一只橘猫", "水墨山水"]


def test_bytes_that_are_no_chinese_encoding_get_the_general_advice(cli, fake) -> None:
    Path("prompts.txt").write_bytes("café au lait\n".encode("latin-1"))
    result = cli("batch", "prompts.txt", "-o", "out")
    assert result.exit_code == 2 and "GB18030" not in result.stderr
    assert "is not UTF-8 (from byte 3). Save it as UTF-8, or name its encoding with --encoding" in result.stderr
    assert cli("batch", "prompts.txt", "-o", "out", "--encoding", "latin-1").exit_code == 0
    assert sent(fake) == ["café au lait"]


def test_a_wrong_or_unknown_encoding_is_a_usage_error(cli, fake) -> None:
    Path("prompts.txt").write_bytes(PROMPTS.encode("gbk"))
    wrong = cli("batch", "prompts.txt", "-o", "out", "--encoding", "utf-8")
    assert wrong.exit_code == 2 and "is not utf-8 text (from byte 4). Check --encoding" in wrong.stderr
    unknown = cli("batch", "prompts.txt", "-o", "out", "--encoding", "gbk2", "--json")
    assert unknown.exit_code == 2
    assert json.loads(unknown.stdout)["error"]["code"] == "FLAG_BAD_VALUE"
    assert "--encoding gbk2 is not an encoding" in unknown.stderr and "gb18030" in unknown.stderr
    assert fake.requests == []


def test_generate_reads_a_gbk_prompt_from_standard_input_with_encoding(cli, fake) -> None:
    refused = cli("generate", "-", "-o", "out", input="一只橘猫".encode("gbk"))
    assert refused.exit_code == 2 and fake.requests == []
    assert "Standard input is not UTF-8 (from byte 4), but it reads as GB18030" in refused.stderr
    assert "add --encoding gb18030" in refused.stderr
    made = cli("generate", "-", "-o", "out", "--encoding", "gb18030", input="一只橘猫".encode("gbk"))
    assert made.exit_code == 0, made.stderr
    assert sent(fake) == ["一只橘猫"]


def test_generate_reads_utf16_from_standard_input_and_refuses_encoding_without_dash(cli, fake) -> None:
    assert cli("generate", "-", "-o", "out", input="水墨山水".encode("utf-16")).exit_code == 0
    assert sent(fake) == ["水墨山水"]
    result = cli("--lang", "zh", "generate", "一只猫", "--encoding", "gbk")
    assert result.exit_code == 2 and "--encoding 用于从标准输入（`-`）读取的提示词" in result.stderr


def test_batch_from_standard_input_in_gbk(cli, fake) -> None:
    result = cli("batch", "-", "-o", "out", input=PROMPTS.encode("gbk"))
    assert result.exit_code == 2 and "Standard input is not UTF-8" in result.stderr
    assert cli("batch", "-", "-o", "out", "--encoding", "gb18030", input=PROMPTS.encode("gbk")).exit_code == 0
    assert sent(fake) == ["一只橘猫", "水墨山水"]


def test_failed_jsonl_is_utf8_and_its_command_needs_no_encoding(cli, fake) -> None:
    from tests.fake_bigmodel import Reply

    Path("prompts.txt").write_bytes("一只橘猫\n".encode("gbk"))
    fake.script(SYNC_ROUTE, Reply.error(400, "1301", "unsafe content"))
    result = cli("batch", "prompts.txt", "-o", "out", "--encoding", "gb18030")
    assert result.exit_code == 6
    assert json.loads(Path("out/failed.jsonl").read_text(encoding="utf-8"))["prompt"] == "一只橘猫"
    advice = next(line for line in result.stderr.splitlines() if "out/failed.jsonl -o out" in line)
    assert "--encoding" not in advice
