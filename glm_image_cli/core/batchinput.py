"""Reading a batch's input: plain text (one prompt a line), JSON lines or CSV, from a file or standard input,
with every malformed line collected (not just the first) so the user can fix them all in one go."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glm_image_cli import safejson
from glm_image_cli.core.textinput import decode_text
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import Text
from glm_image_cli.safejson import UnsafeJson

FORMATS = ("txt", "jsonl", "csv")
ITEM_FIELDS = ("prompt", "style", "negative", "size", "model", "quality", "n", "name", "enhance", "template", "check")
_VARIABLE = __import__("re").compile(r"[^\W\d]\w*")  # a template variable's name (core/templates.py)


def _unknown(fields: Any, templated: bool) -> list[str]:
    """Fields no item has; with a template (the line's or batch -t), other names are its variables."""
    unknown = sorted(set(fields) - set(ITEM_FIELDS))
    return [name for name in unknown if not _VARIABLE.fullmatch(name)] if templated else unknown


@dataclass(frozen=True)
class RawItem:
    """One prompt as written in the input, before defaults and validation."""

    line: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


def detect_format(path: str, text: str, explicit: str | None = None) -> str:
    """--format, else the file extension, else a sniff of the first meaningful line."""
    if explicit:
        return explicit
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix == ".txt":
        return "txt"
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            if stripped.startswith("{"):
                return "jsonl"
            header = [cell.strip().lower() for cell in next(csv.reader([stripped]))]
            known = "prompt" in header and set(header) <= set(ITEM_FIELDS)
            return "csv" if known or "template" in header else "txt"
    return "txt"


def read_input(path: str, stdin: Any = None, max_bytes: int = 64 * 1024 * 1024, encoding: str | None = None) -> str:
    """The input's text ('-' is standard input): UTF-8 (BOM allowed), UTF-16/32 after their BOM, or ``encoding``
    (see core/textinput.py).  At most ``max_bytes`` (far more prompts than any batch) are read, so `/dev/zero`
    or an endless pipe is refused instead of exhausting memory."""
    shown = path.encode("utf-8", "backslashreplace").decode("utf-8")  # a name that was not UTF-8 stays printable
    try:
        if path == "-":
            source = stdin if stdin is not None else __import__("sys").stdin
            data = (source.buffer.read(max_bytes + 1) if hasattr(source, "buffer")
                    else source.read(max_bytes + 1).encode())
        else:
            with Path(path).open("rb") as handle:  # a pipe is welcome here (`batch <(…)`): the read is bounded
                data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise UsageError("batch_unreadable", path=shown, detail=Text("detail_too_large", limit=max_bytes))
    except FileNotFoundError:
        raise UsageError("batch_file_missing", path=shown) from None
    except IsADirectoryError:
        raise UsageError("batch_unreadable", path=shown, detail=Text("detail_is_folder")) from None
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte or an unencodable character
        detail = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        raise UsageError("batch_unreadable", path=shown, detail=detail) from None
    return decode_text(data, encoding, source="stdin" if path == "-" else "batch", path=shown)


def parse_items(text: str, fmt: str, template: bool = False) -> tuple[list[RawItem], list[LineError]]:
    """Split the input into raw items, collecting every malformed line instead of stopping at the first.
    ``template``: every item uses a template (batch -t): a text line is NAME=VALUE words, other fields are
    variables."""
    if fmt == "jsonl":
        return _parse_jsonl(text, template)
    if fmt == "csv":
        return _parse_csv(text, template)
    items, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            if not template:
                items.append(RawItem(number, {"prompt": stripped}))
                continue
            try:
                items.append(RawItem(number, _assignments(stripped)))
            except UsageError as exc:
                errors.append(LineError(number, str(exc)))
    return items, errors


def _assignments(line: str) -> dict[str, Any]:
    """A text line under batch -t: ``subject=猫 style="水彩 画"`` (quoted as in a shell)."""
    import shlex

    from glm_image_cli.core.templates import parse_assignments

    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError("template_bad_assignment", text=f"{line} ({exc})") from None
    return dict(parse_assignments(words))


def _parse_jsonl(text: str, template: bool = False) -> tuple[list[RawItem], list[LineError]]:
    from glm_image_cli.storage.settingspec import has_surrogates

    def _field_with_surrogates(record: dict[str, Any]) -> str | None:
        for key, value in record.items():
            if has_surrogates(key):
                return ascii(key)
            if isinstance(value, str) and has_surrogates(value):
                return key
        return None

    items, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            record = safejson.loads(stripped)
        except UnsafeJson:
            errors.append(LineError(number, str(Text("batch_bad_json", detail=Text("detail_too_deep")))))
            continue
        except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
            errors.append(LineError(number, str(Text("batch_bad_json", detail=getattr(exc, "msg", str(exc))))))
            continue
        except RecursionError:
            errors.append(LineError(number, str(Text("batch_bad_json", detail=Text("detail_too_deep")))))
            continue
        if not isinstance(record, dict):
            errors.append(LineError(number, str(Text("batch_not_object"))))
            continue
        bad_field = _field_with_surrogates(record)
        if bad_field is not None:  # caught here, before any message or file repeats the text
            errors.append(LineError(number, str(Text("invalid_text", field=bad_field))))
            continue
        unknown = _unknown(record, template or "template" in record)
        if unknown:
            errors.append(LineError(number, str(Text("batch_unknown_fields", fields=", ".join(unknown),
                                                     valid=", ".join(ITEM_FIELDS)))))
            continue
        # An empty field is as good as absent, except the prompt: `"prompt": ""` is said to be empty, not missing.
        items.append(RawItem(number, {k: v for k, v in record.items() if v not in (None, "") or k == "prompt"}))
    return items, errors


def _parse_csv(text: str, template: bool = False) -> tuple[list[RawItem], list[LineError]]:
    dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        return [], [LineError(1, str(Text("batch_bad_csv", detail=str(exc))))]
    templated = template or "template" in header
    if "prompt" not in header and not templated:
        return [], [LineError(1, str(Text("batch_csv_header", valid=", ".join(ITEM_FIELDS))))]
    unknown = _unknown(header, templated)
    if unknown:
        return [], [LineError(1, str(Text("batch_unknown_fields", fields=", ".join(unknown),
                                          valid=", ".join(ITEM_FIELDS))))]
    items, errors = [], []
    while True:
        start = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over csv.field_size_limit(), a stray quote at the end, ...
            errors.append(LineError(start + 1, str(Text("batch_bad_csv", detail=str(exc)))))
            if reader.line_num == start:  # nothing consumed: the reader cannot get past it
                break
            continue
        cleaned = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        fields = {k: v for k, v in cleaned.items() if v}
        if fields:  # a row with something in it but an empty prompt cell is said to have an empty prompt
            if "prompt" in header and "template" not in fields and not template:  # a template's row has none
                fields.setdefault("prompt", "")
            items.append(RawItem(reader.line_num, fields))
    return items, errors
