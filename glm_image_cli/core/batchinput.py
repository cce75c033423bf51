"""Reading a batch's input: plain text (one prompt a line), JSON lines or CSV, from a file or standard input,
with every malformed line collected (not just the first) so the user can fix them all in one go."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glm_image_cli import safejson
from glm_image_cli.errors import UsageError
from glm_image_cli.messages import Text
from glm_image_cli.safejson import UnsafeJson

FORMATS = ("txt", "jsonl", "csv")
ITEM_FIELDS = ("prompt", "style", "negative", "size", "model", "quality", "n", "name", "enhance", "check")


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
            return "csv" if "prompt" in header and set(header) <= set(ITEM_FIELDS) else "txt"
    return "txt"


def read_input(path: str, stdin: Any = None, max_bytes: int = 64 * 1024 * 1024) -> str:
    """The input's text (UTF-8, BOM allowed); '-' is standard input.  At most ``max_bytes`` (far more
    prompts than any batch) are read, so `/dev/zero` or an endless pipe is refused instead of exhausting memory."""
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
        return data.decode("utf-8-sig")
    except FileNotFoundError:
        raise UsageError("batch_file_missing", path=shown) from None
    except IsADirectoryError:
        raise UsageError("batch_unreadable", path=shown, detail=Text("detail_is_folder")) from None
    except UnicodeDecodeError as exc:
        raise UsageError("batch_unreadable", path=shown, detail=Text("detail_not_utf8", offset=exc.start)) from None
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte or an unencodable character
        detail = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        raise UsageError("batch_unreadable", path=shown, detail=detail) from None


def parse_items(text: str, fmt: str) -> tuple[list[RawItem], list[LineError]]:
    """Split the input into raw items, collecting every malformed line instead of stopping at the first."""
    if fmt == "jsonl":
        return _parse_jsonl(text)
    if fmt == "csv":
        return _parse_csv(text)
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            items.append(RawItem(number, {"prompt": stripped}))
    return items, []


def _parse_jsonl(text: str) -> tuple[list[RawItem], list[LineError]]:
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
        unknown = sorted(set(record) - set(ITEM_FIELDS))
        if unknown:
            errors.append(LineError(number, str(Text("batch_unknown_fields", fields=", ".join(unknown),
                                                     valid=", ".join(ITEM_FIELDS)))))
            continue
        items.append(RawItem(number, {k: v for k, v in record.items() if v not in (None, "")}))
    return items, errors


def _parse_csv(text: str) -> tuple[list[RawItem], list[LineError]]:
    dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        return [], [LineError(1, str(Text("batch_bad_csv", detail=str(exc))))]
    if "prompt" not in header:
        return [], [LineError(1, str(Text("batch_csv_header", valid=", ".join(ITEM_FIELDS))))]
    unknown = sorted(set(header) - set(ITEM_FIELDS))
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
        if fields:
            items.append(RawItem(reader.line_num, fields))
    return items, errors
