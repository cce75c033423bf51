"""Text the user hands over as bytes (a batch's prompts file, a prompt on standard input).

UTF-8 is read by default, with or without its BOM; a UTF-16 or UTF-32 BOM (what Windows Notepad's "Unicode"
saves) is read as that encoding; ``--encoding NAME`` reads any codec Python knows.  Bytes that are not UTF-8
are refused with the byte where they stop being UTF-8, and when they read as GB18030 (what Chinese Windows and
older Notepad save, a superset of GBK and GB2312) the message says so, shows how the text begins read that
way, and names the flag that reads it: a guess is offered, never acted on, so nothing is sent in a wrong
reading of the user's words.
"""

from __future__ import annotations

import codecs
import re

from glm_image_cli.errors import UsageError

# Longest first: a UTF-32-LE BOM begins with the UTF-16-LE one.
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
SUGGESTED = ("utf-8", "gb18030", "utf-16", "big5", "shift_jis", "euc-kr", "latin-1")  # for completion and help
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_OPENING = 24  # characters of the GB18030 reading shown, enough to recognise one's own words
# The messages of each source: (reads as GB18030, not UTF-8, not the encoding asked for or marked by a BOM).
MESSAGES = {"batch": ("batch_looks_gb18030", "batch_not_utf8", "batch_not_in_encoding"),
            "stdin": ("stdin_looks_gb18030", "stdin_not_utf8", "stdin_not_in_encoding")}


def check_encoding(name: str | None) -> str | None:
    """The codec's canonical name, or None when none was asked for; an unknown name is a usage error."""
    if name is None:
        return None
    try:
        codecs.lookup(name)
    except LookupError:
        raise UsageError("encoding_unknown", encoding=name, names=", ".join(SUGGESTED)) from None
    return name


def decode_text(data: bytes, encoding: str | None = None, *, source: str, path: str = "-") -> str:
    """``data`` as text.  ``source`` picks the messages ("batch" for a prompts file, "stdin" for generate's
    `-`); ``path`` is named in them."""
    if encoding is not None:
        check_encoding(encoding)
        return _strict(data, encoding, source, path).removeprefix("\ufeff")
    for bom, codec in BOMS:
        if data.startswith(bom):
            return _strict(data, codec, source, path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start
    try:
        reading = data.decode("gb18030")
    except UnicodeDecodeError:
        reading = None
    if reading is not None and _CJK.search(reading):
        raise UsageError(MESSAGES[source][0], path=path, offset=offset, opening=_opening(reading))
    raise UsageError(MESSAGES[source][1], path=path, offset=offset, names=", ".join(SUGGESTED[1:]))


def _strict(data: bytes, codec: str, source: str, path: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise UsageError(MESSAGES[source][2], path=path, encoding=codec.removesuffix("-sig"),
                         offset=exc.start) from None


def _opening(text: str) -> str:
    """The first line with text in it, shortened, with no control character left to reach the terminal."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    line = _CONTROL.sub("?", line)
    return line if len(line) <= _OPENING else line[:_OPENING] + "…"
