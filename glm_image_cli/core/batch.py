"""Batches: many prompts from a file, run concurrently, resumable, never paying twice.

The manifest (JSON lines in the output folder) is the memory of a batch: every image's key is
recorded as ``dispatched`` before its request is sent and as ``done``/``failed`` after, flushed each
time.  A re-run skips what is done, retries what failed, and does not resend what was in flight when
a previous run died (it may have been billed) unless the user says so.

This module turns the input (batchinput.py) into work units, chooses what a run does from the manifest
(manifest.py) and sums the run up.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.backends import models
from glm_image_cli.core.batchinput import LineError, RawItem, detect_format, parse_items, read_input
from glm_image_cli.core.expand import escape
from glm_image_cli.core.manifest import PAID_STATES
from glm_image_cli.core.plans import GenerationPlan, error_json, image_record, plan_generation
from glm_image_cli.core.styles import compose_prompt
from glm_image_cli.errors import ExitCode, GlmImageError, UsageError
from glm_image_cli.storage.atomic import write_atomic
from glm_image_cli.storage.files import slugify
from glm_image_cli.storage.naming import sample_stem

if TYPE_CHECKING:
    from glm_image_cli.core.manifest import Manifest
    from glm_image_cli.core.prompting import LineExpander
    from glm_image_cli.core.runner import ImageOutcome

FAILED_NAME = "failed.jsonl"


def load_items(path: str, explicit_format: str | None, defaults: Mapping[str, Any],
               user_styles: Mapping[str, str] | None = None,
               encoding: str | None = None, expander: LineExpander | None = None,
               ) -> tuple[list[BatchItem], list[LineError]]:
    """Read, parse and validate the whole input; every bad line is reported, sorted by line number.
    ``expander``: templates, alternatives and wildcards (core/prompting.py), one item per expanded prompt."""
    text = read_input(path, encoding=encoding)
    templated = expander is not None and expander.template is not None
    raw_items, errors = parse_items(text, detect_format(path, text, explicit_format), templated)
    items, item_errors = build_items(raw_items, defaults, user_styles, expander)
    return items, sorted(errors + item_errors, key=lambda error: error.line)


# --- validating and planning ----------------------------------------------------------------------

@dataclass(frozen=True)
class BatchItem:
    """A validated input line: its generation plan and how its files are named."""

    line: int
    number: int
    plan: GenerationPlan
    name: str | None
    enhance: bool = False  # --enhance or the line's "enhance": the prompt is rewritten before it is sent
    check: bool = False  # --check or the line's "check": each image is judged by the vision model once saved
    best_of: int | None = None  # --best-of N: the plan's samples are N candidates per image asked for

    def stem(self, sample: int) -> str:
        """The image's name as the live list and failed.jsonl show it: the item's ``name``, else the default
        template's, then ``sample_stem``'s `-1`, `-2` … as the saved file gets them."""
        base = self.name or f"{self.number:04d}-{slugify(self.plan.prompt)}"
        return sample_stem(base, sample, self.plan.samples)


@dataclass(frozen=True)
class WorkUnit:
    """One image to make: one paid API call."""

    item: BatchItem
    sample: int
    key: str

    @property
    def plan(self) -> GenerationPlan:
        return self.item.plan

    @property
    def index(self) -> int:
        return self.item.number

    @property
    def fixed_stem(self) -> str | None:
        return self.item.name

    @property
    def wants_check(self) -> bool:
        return self.item.check or self.item.best_of is not None

    @property
    def group(self) -> tuple[int, int] | None:
        """--best-of: the candidates of one wanted image (an item's samples 1..N, N+1..2N, ...)."""
        best_of = self.item.best_of
        return (self.item.number, (self.sample - 1) // best_of) if best_of else None


def build_items(
    raw_items: Iterable[RawItem],
    defaults: Mapping[str, Any],
    user_styles: Mapping[str, str] | None = None,
    expander: LineExpander | None = None,
) -> tuple[list[BatchItem], list[LineError]]:
    """Apply the command's flags as defaults and validate every item (nothing is sent yet).  A line that stands
    for several prompts (``expander``) gives one item each, or, if any of them is invalid, one error and none."""
    items, errors = [], []
    for raw in raw_items:
        line_items: list[BatchItem] = []
        try:
            for fields in expander.items(raw.fields) if expander is not None else [raw.fields]:
                merged = {**{k: v for k, v in defaults.items() if v is not None}, **fields}
                merged["backend"] = defaults.get("backend")  # the settings' Backend (None: the default), never a line's
                line_items.append(_build_item(raw.line, len(items) + len(line_items) + 1, merged, user_styles))
        except GlmImageError as exc:
            errors.append(LineError(raw.line, str(exc)))
            continue
        items += line_items
    return items, errors


def _build_item(line: int, number: int, fields: Mapping[str, Any], user_styles: Mapping[str, str] | None) -> BatchItem:
    if "prompt" not in fields:
        raise UsageError("batch_missing_prompt")
    prompt = fields["prompt"]
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        raise UsageError("batch_empty_prompt")
    if not isinstance(prompt, str):
        raise UsageError("batch_field_type", field="prompt")
    samples = _whole_number(fields.get("n", 1))
    for key in ("style", "negative", "size", "model", "quality", "name"):
        if key in fields and not isinstance(fields[key], str):
            raise UsageError("batch_field_type", field=key)
    plan = plan_generation(
        prompt,
        watermark=fields.get("watermark", True),
        user_id=fields.get("user_id"),
        model=fields.get("model") or models.DEFAULT_MODEL,
        size=fields.get("size"),
        quality=fields.get("quality"),
        style=fields.get("style"),
        negative=fields.get("negative"),
        samples=samples,
        user_styles=user_styles,
        backend=fields.get("backend"),
    )
    if fields.get("origin"):  # a template or alternatives made this prompt: the recipe says how
        from dataclasses import replace

        plan = replace(plan, origin=dict(fields["origin"]))
    name = fields.get("name")
    if name is not None and not is_safe_name(name.strip()):
        raise UsageError("batch_bad_name", name=name)
    best_of = fields.get("best_of")
    if best_of:
        from dataclasses import replace

        plan = replace(plan, samples=plan.samples * best_of)  # N candidates for each image asked for
    return BatchItem(line=line, number=number, plan=plan, name=name.strip() if name else None,
                     enhance=_on_off_field(fields.get("enhance", False)),
                     check=_on_off_field(fields.get("check", False), "check"), best_of=best_of or None)


def _on_off_field(value: Any, name: str = "enhance") -> bool:
    """A line's "enhance" or "check": true/false in JSON, on/off (or true/false, yes/no, 1/0) in CSV."""
    from glm_image_cli.storage.settingspec import InvalidValue, on_off

    try:
        return on_off(value)
    except InvalidValue:
        raise UsageError("batch_field_type", field=name) from None


_UNSAFE_NAME_CHARACTERS = set('/\\:*?"<>|')


def is_safe_name(name: str) -> bool:
    """A file-name stem that stays inside the output folder on every OS."""
    return (0 < len(name) <= 120 and not name.startswith(".")
            and not any(ch in _UNSAFE_NAME_CHARACTERS or ord(ch) < 32 for ch in name))


def _whole_number(value: Any) -> int:
    """A batch line's "n": a whole number (1 and "1" alike), then the usual range."""
    if isinstance(value, bool):
        raise UsageError("batch_field_number", field="n")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise UsageError("batch_field_number", field="n") from None
    return models.check_samples(number)


def work_units(items: Iterable[BatchItem]) -> list[WorkUnit]:
    """One unit per image.  Keys hash the request as the user wrote it and the sample index (and the occurrence
    of identical items), so the same input gives the same keys on every run and duplicates still get their own
    images.  An --enhance item's key is made from its typed prompt, never from the rewrite (which differs from
    call to call): a re-run recognises what it made, and reuses the rewrite the manifest recorded."""
    seen: Counter[str] = Counter()
    units = []
    for item in items:
        plan = item.plan
        fields: list[Any] = [plan.prompt_sent, plan.model, plan.size, plan.quality, item.name]
        if item.enhance:
            fields = [compose_prompt(plan.prompt, plan.style, plan.negative), *fields[1:], "enhance"]
        identity = json.dumps(fields, ensure_ascii=False)
        seen[identity] += 1
        for sample in range(1, plan.samples + 1):
            digest = hashlib.sha256(f"{identity}|{sample}|{seen[identity]}".encode()).hexdigest()[:20]
            units.append(WorkUnit(item=item, sample=sample, key=digest))
    return units


def _recorded_exit_code(record: Mapping[str, Any]) -> int:
    """The exit code a failed record reports; a damaged record counts as a generic failure."""
    error = record.get("error")
    code = error.get("exit_code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) and 0 < code < 256 else int(ExitCode.FAILURE)


# --- choosing what to run --------------------------------------------------------------------------

@dataclass
class Selection:
    """What a run will do, after looking at the manifest (and, for images it does not know, the folder)."""

    to_run: list[WorkUnit]
    done_before: list[WorkUnit]
    uncertain: list[WorkUnit]  # in flight when an earlier run died: may have been billed
    failed_skipped: list[WorkUnit]
    capped: list[WorkUnit]  # left for later by --max-images
    earlier_exit_code: int | None = None  # of the first failure skipped by --no-retry-failed
    recoverable: list[WorkUnit] = field(default_factory=list)  # paid before, URL recorded: fetched, not bought
    found_on_disk: dict[str, Path] = field(default_factory=dict)  # key -> an image whose recipe names it

    def images_per_model(self) -> dict[str, int]:
        """What this run will ask for, by model (for the cost estimate and the consent question)."""
        return dict(Counter(unit.item.plan.model for unit in self.to_run))


def select_work(units: list[WorkUnit], manifest: Manifest, *, retry_failed: bool, retry_unsafe: bool,
                max_images: int | None, on_disk: Mapping[str, Path] | None = None) -> Selection:
    selection = Selection([], [], [], [], [])
    for unit in units:
        state = manifest.state(unit.key)
        if state == "done":
            selection.done_before.append(unit)
        elif on_disk and unit.key in on_disk:  # made earlier, the manifest forgot: the image says so
            selection.done_before.append(unit)
            selection.found_on_disk[unit.key] = on_disk[unit.key]
        elif state in PAID_STATES and manifest.recorded_image(unit) is not None \
                and not (retry_unsafe and manifest.states[unit.key].get("error")):
            # Paid earlier: fetch it.  Only when fetching already failed may --retry-unsafe buy it again.
            selection.recoverable.append(unit)
        elif state in PAID_STATES and not retry_unsafe:
            selection.uncertain.append(unit)
        elif state == "failed" and not retry_failed:
            selection.failed_skipped.append(unit)
            if selection.earlier_exit_code is None:
                selection.earlier_exit_code = _recorded_exit_code(manifest.states[unit.key])
        elif max_images is not None and len(selection.to_run) >= max_images:
            selection.capped.append(unit)
        else:
            selection.to_run.append(unit)
    return selection


MAX_IMAGES_SCANNED = 100_000


def images_on_disk(folder: Path, keys: set[str]) -> dict[str, Path]:
    """Images in the output folder that a batch made for one of ``keys``: named by the folder's hidden index, or
    by their embedded recipe.  Reads only each PNG's text chunks, so even a large folder is looked through quickly."""
    from glm_image_cli.core.manifest import read_index
    from glm_image_cli.storage.pngmeta import recipe_in_file

    if not keys or not folder.is_dir():
        return {}
    found = read_index(folder, keys)  # the sidecar: images without a recipe (--no-metadata, jpeg, webp)
    for count, path in enumerate(folder.rglob("*.png")):
        if count >= MAX_IMAGES_SCANNED or len(found) == len(keys):
            break
        if path.name.startswith(".") or path.is_symlink():
            continue
        key = (recipe_in_file(path) or {}).get("batch_key")
        if isinstance(key, str) and key in keys:
            found.setdefault(key, path)
    return found


# --- JSON ---------------------------------------------------------------------------------------------

def item_record(outcome: ImageOutcome) -> dict[str, Any]:
    """The documented per-item ``batch --json`` object."""
    unit: WorkUnit = outcome.unit
    return {
        "type": "item",
        "key": unit.key,
        "line": unit.item.line,
        "item": unit.item.number,
        "sample": unit.sample,
        **image_record(outcome),
        "error": error_json(outcome.error) if outcome.error else None,
    }


# --- the summary ------------------------------------------------------------------------------------

@dataclass
class BatchSummary:
    total: int
    done: int
    skipped: int
    failed: int
    uncertain: int
    not_sent: int
    failures_by_code: dict[str, int]
    seconds: float
    exit_code: int
    halted_by: GlmImageError | None = None  # the account-wide failure that stopped sending, if any
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)  # per model: limit in use, learned, refused

    @property
    def images_per_minute(self) -> float:
        return self.done / self.seconds * 60 if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"type": "summary", "total": self.total, "done": self.done, "skipped": self.skipped,
                "failed": self.failed, "uncertain": self.uncertain, "not_sent": self.not_sent,
                "failures_by_code": self.failures_by_code, "seconds": round(self.seconds, 3),
                "images_per_minute": round(self.images_per_minute, 2), "exit_code": self.exit_code,
                "stopped_by": error_json(self.halted_by) if self.halted_by else None, "limits": self.limits}


def summarize(selection: Selection, outcomes: list[ImageOutcome], not_sent: int, seconds: float,
              halted_by: GlmImageError | None = None, abandoned: int = 0) -> BatchSummary:
    """``abandoned``: calls in flight when a second Ctrl-C left them behind; they may have been billed."""
    failures = [o for o in outcomes if o.error is not None]
    by_code = Counter(o.error.code for o in failures if o.error is not None)
    uncertain = len(selection.uncertain) + sum(1 for o in failures if o.maybe_billed) + abandoned
    exit_code = int(ExitCode.OK)
    if failures:
        exit_code = sorted(failures, key=lambda o: o.unit.item.number)[0].error.exit_code  # type: ignore[union-attr]
    elif selection.earlier_exit_code is not None:
        exit_code = selection.earlier_exit_code
    elif selection.uncertain:
        exit_code = int(ExitCode.NETWORK)
    return BatchSummary(
        total=len(selection.to_run) + len(selection.done_before) + len(selection.uncertain)
        + len(selection.failed_skipped) + len(selection.capped) + len(selection.recoverable),
        done=len(outcomes) - len(failures),
        skipped=len(selection.done_before),
        failed=sum(1 for o in failures if not o.maybe_billed) + len(selection.failed_skipped),
        uncertain=uncertain,
        not_sent=not_sent + len(selection.capped),
        failures_by_code=dict(by_code),
        seconds=seconds,
        exit_code=int(exit_code),
        halted_by=halted_by,
    )


def failed_units(selection: Selection, outcomes: list[ImageOutcome]) -> list[WorkUnit]:
    """Units that stand failed after this run: failed now, or failed before and not retried."""
    now = [o.unit for o in outcomes if o.error is not None and not o.maybe_billed]
    return sorted(now + selection.failed_skipped, key=lambda u: (u.item.number, u.sample))


def write_failed_file(folder: Path, units: list[WorkUnit]) -> Path | None:
    """failed.jsonl: one batch line per failed image, ready to feed back to `glm-image batch`.
    Removed when nothing stands failed, so it never lists work that has since succeeded."""
    path = folder / FAILED_NAME
    if not units:
        path.unlink(missing_ok=True)
        return None
    lines = []
    for unit in units:
        plan = unit.item.plan
        entry = {"prompt": escape(plan.prompt), "style": plan.style.name if plan.style else None,
                 "negative": plan.negative, "size": plan.size, "model": plan.model, "quality": plan.quality,
                 "name": unit.item.stem(unit.sample), "enhance": True if unit.item.enhance else None}
        lines.append(json.dumps({k: v for k, v in entry.items() if v is not None}, ensure_ascii=False))
    try:
        write_atomic(path, "\n".join(lines) + "\n", durable=False)
    except OSError:  # a full disk must not turn the summary into a crash; the manifest still knows
        return None
    return path
