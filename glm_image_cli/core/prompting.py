"""From what the user typed to the prompts that are sent: a template filled in (templates.py), then alternatives
and wildcards expanded (expand.py), each expanded prompt planned on its own.

The order is fixed: template variables first (``{subject}``), then ``{a|b}`` groups and ``__name__`` wildcards,
so a variable's value may hold alternatives.  Every expanded prompt is one plan (one unit of a batch, one line of
the journal); the plan carries its origin (template, source text, expand mode, seed, choices) into the recipe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glm_image_cli.core.expand import DEFAULT_MAX_PROMPTS, Expanded, ExpandMode, Wildcards, expand, stable_seed
from glm_image_cli.core.runner import SampleUnit, samples_of
from glm_image_cli.errors import UsageError

if TYPE_CHECKING:
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.templates import Template


@dataclass(frozen=True)
class PromptSource:
    """A prompt as a front end received it: the text (or a template and its variables) and how to expand it."""

    text: str | None = None
    template: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    expand: str | None = None  # "all" (default) or "random:N"
    seed: int | None = None
    wildcards: str | Path | None = None  # --wildcards DIR, searched before the data folder's wildcards/


def wildcard_folders(extra: str | Path | None = None) -> Wildcards:
    """``--wildcards DIR`` first, then ``<data folder>/wildcards``."""
    from glm_image_cli.storage.history import data_dir

    return Wildcards([*([Path(extra)] if extra else []), data_dir() / "wildcards"])


def load_template(name: str | None) -> Template | None:
    if name is None:
        return None
    from glm_image_cli.core.templates import TemplateStore

    return TemplateStore.default().get(name)


def source_text(source: PromptSource, template: Template | None) -> str:
    """The text to expand: the template filled in, or the prompt as given."""
    if template is not None:
        if source.text is not None:
            raise UsageError("template_and_prompt")
        return template.fill(source.variables)
    if source.variables:
        raise UsageError("template_variables_without_template")
    if source.text is None:
        raise UsageError("empty_prompt")
    return source.text


def expand_source(source: PromptSource, template: Template | None = None, *,
                  limit: int | None = DEFAULT_MAX_PROMPTS, samples: int = 1,
                  wildcards: Wildcards | None = None) -> list[Expanded]:
    """The prompts ``source`` stands for.  More than ``limit`` images (prompts x ``samples``) are refused with
    the count before anything is sent."""
    text = source_text(source, template)
    mode = ExpandMode.parse(source.expand, source.seed)
    found = expand_within(text, mode, wildcards or wildcard_folders(source.wildcards), limit, samples)
    if template is None:
        return found
    named = {"template": template.name, "variables": dict(source.variables)}
    return [Expanded(item.prompt, {**named, **item.origin}) for item in found]


def expand_within(text: str, mode: ExpandMode, wildcards: Wildcards, limit: int | None, samples: int) -> list[Expanded]:
    """The prompts ``text`` stands for, refused (with the count of images) when they and their ``samples`` are more
    than ``limit`` — counted from the groups' sizes before a single prompt is made, so ``{a|b}`` x 30 is refused
    at once instead of listing a billion prompts."""
    from glm_image_cli.core.expand import count, parse

    total = count(parse(text, wildcards))
    wanted = total if mode.count is None else min(mode.count, total)
    if limit is not None and wanted * samples > limit:
        raise UsageError("expand_too_many", count=wanted * samples, limit=limit)
    return expand(text, mode, wildcards=wildcards, limit=None)


def with_origin(plan: GenerationPlan, origin: Mapping[str, Any]) -> GenerationPlan:
    """The plan with how its prompt was made (recorded in the image's recipe); unchanged when nothing was."""
    return replace(plan, origin=dict(origin)) if origin else plan


def plan_options(options: Mapping[str, Any], template: Template | None) -> dict[str, Any]:
    """``studio.plan``'s options with the template's defaults where the caller gave none."""
    from glm_image_cli.core.templates import with_defaults

    return with_defaults(options, template)


@dataclass(frozen=True)
class NumberedUnit(SampleUnit):
    """A sample of one of several plans (a prompt's alternatives, a template's expansions): numbered across them
    all, so each image has its own key, progress row and file number."""

    number: int

    @property
    def key(self) -> str:
        return str(self.number)

    @property
    def index(self) -> int:
        return self.number


def units_of(plans: Sequence[GenerationPlan]) -> list[SampleUnit]:
    """The images of ``plans``; several prompts get one number (key, progress row, ``{index}``) per image."""
    units = [unit for plan in plans for unit in samples_of(plan)]
    if len(plans) > 1:
        return [NumberedUnit(unit.plan, unit.sample, number) for number, unit in enumerate(units, 1)]
    return units


def listing(plans: Sequence[GenerationPlan]) -> list[dict[str, Any]]:
    """--dry-run: each expanded prompt with its model, size and images, for every front end to show."""
    return [{"prompt": plan.prompt, "prompt_sent": plan.prompt_sent, "model": plan.model, "size": plan.size,
             "samples": plan.samples, **({"origin": dict(plan.origin)} if plan.origin else {})} for plan in plans]


ITEM_KEYS = ("prompt", "style", "negative", "size", "model", "quality", "n", "name", "enhance", "template")


@dataclass
class LineExpander:
    """Batch lines into the items they stand for: each line's template (its "template" field, else batch -t)
    filled from its other fields, then its alternatives and wildcards expanded, one item per prompt.

    Precedence of a setting: the line's own field, then the command's flags (``flagged``: the settings they set),
    then the template's defaults, then the settings.  Without --seed a random draw is seeded by the line's text,
    so a re-run of the same input draws the same prompts (and finds them made: nothing is paid twice)."""

    expand: str | None = None
    seed: int | None = None
    wildcards: Wildcards | None = None
    limit: int = DEFAULT_MAX_PROMPTS
    template: str | None = None
    flagged: frozenset[str] = frozenset()
    _loaded: dict[str, Template] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ExpandMode.parse(self.expand, self.seed)  # a bad --expand is refused before any line is read
        if self.template is not None:
            self._template(self.template)  # so is a missing batch -t template

    def items(self, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The line's fields once per prompt it stands for, each with ``prompt`` expanded and ``origin`` set."""
        name = fields.get("template", self.template)
        template = self._template(name) if name is not None else None
        if template is not None:
            # A field named like one of the template's variables fills it ("style" in 海报，{style}风格 is not
            # the style preset); the other item fields are the line's settings.
            own = set(template.names)
            if "prompt" in fields and "prompt" not in own:
                raise UsageError("template_and_prompt")
            variables = {key: _variable(key, value) for key, value in fields.items()
                         if key in own or key not in ITEM_KEYS}
            text = template.fill(variables)
            defaults = {key: value for key, value in template.defaults.items() if key not in self.flagged}
            base = {**defaults, **{k: v for k, v in fields.items() if k in ITEM_KEYS and k != "template"
                                   and k not in own}}
            named: dict[str, Any] = {"template": template.name, "variables": variables}
        else:
            text = fields.get("prompt")
            if not isinstance(text, str):
                return [dict(fields)]  # no prompt, or not text: the line's usual error
            base, named = dict(fields), {}
        mode = ExpandMode.parse(self.expand, self.seed if self.seed is not None else stable_seed(text))
        found = expand_within(text, mode, self.wildcards, self.limit, _whole(fields.get("n", 1)))
        return [{**base, "prompt": item.prompt, "origin": {**named, **item.origin}} for item in found]

    def _template(self, name: Any) -> Template:
        from glm_image_cli.core.templates import TemplateStore

        if not isinstance(name, str):
            raise UsageError("batch_field_type", field="template")
        if name not in self._loaded:
            self._loaded[name] = TemplateStore.default().get(name)
        return self._loaded[name]


def _variable(name: str, value: Any) -> str:
    """A variable's value from a JSON line: text, or a number written as text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError("batch_field_type", field=name)
    return str(value)


def _whole(value: Any) -> int:
    try:
        return max(1, int(str(value).strip()))
    except ValueError:
        return 1  # the line's own "n" error comes later
