"""`glm-image batch`: many prompts from a file; concurrent, resumable, never paying twice."""

from __future__ import annotations

from typing import Annotated

import typer

from glm_image_cli.cli.commands.common import (
    ConcurrencyOption,
    EncodingOption,
    ImageFormatOption,
    ModelOption,
    NameOption,
    NegativeOption,
    NoHistoryOption,
    NoMetadataOption,
    NoWatermarkOption,
    OutputDirOption,
    QualityOption,
    RetryUnsafeOption,
    SizeOption,
    StyleOption,
    TimeoutOption,
    UserIdOption,
    YesOption,
    output_flags,
    state_of,
)
from glm_image_cli.cli.commands.completion import complete_input_format
from glm_image_cli.cli.commands.generating import (
    BatchPreviewOption,
    BestOfOption,
    CaptionOption,
    CheckOption,
    DiscardOption,
    EnhanceOption,
    ExpandOption,
    NoCacheOption,
    SeedOption,
    TemplateOption,
    WildcardsOption,
    vision_setup,
)
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.commands.review import ReviewOption, check_review
from glm_image_cli.cli.language import help_text
from glm_image_cli.core.session import BatchRequest
from glm_image_cli.errors import UsageError

HELP = help_text("cmd.batch")

FormatOption = Annotated[str | None, typer.Option("--format", help=help_text("opt.input_format"), show_default=False,
                                                  autocompletion=complete_input_format)]


@output_options()
def batch(
    ctx: typer.Context,
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help=help_text("arg.batch_input"), show_default=False)],
    folder: Annotated[str | None, typer.Argument(metavar="FOLDER", help=help_text("arg.batch_folder"),
                                                 show_default=False)] = None,
    input_format: FormatOption = None,
    encoding: EncodingOption = None,
    style: StyleOption = None,
    negative: NegativeOption = None,
    size: SizeOption = None,
    model: ModelOption = None,
    quality: QualityOption = None,
    samples: Annotated[int | None, typer.Option("--samples", "-n", help=help_text("opt.samples_batch"),
                                                show_default=False)] = None,
    output_dir: OutputDirOption = None,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=help_text("opt.skip_invalid"))] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed/--no-retry-failed",
                                               help=help_text("opt.retry_failed"))] = True,
    retry_unsafe: RetryUnsafeOption = False,
    name: NameOption = None,
    image_format: ImageFormatOption = None,
    no_metadata: NoMetadataOption = False,
    no_history: NoHistoryOption = False,
    no_watermark: NoWatermarkOption = False,
    user_id: UserIdOption = None,
    yes: YesOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=help_text("opt.dry_run"))] = False,
    max_images: Annotated[int | None, typer.Option("--max-images", help=help_text("opt.max_images"),
                                                   show_default=False)] = None,
    enhance: EnhanceOption = None,
    no_cache: NoCacheOption = False,
    review: ReviewOption = False,
    preview: BatchPreviewOption = None,
    template: TemplateOption = None,
    expand: ExpandOption = None,
    seed: SeedOption = None,
    wildcards: WildcardsOption = None,
    via: Annotated[str | None, typer.Option("--via", help=help_text("opt.batch_via"), metavar="direct|batch-api",
                                            show_default=False)] = None,
    check: CheckOption = False,
    best_of: BestOfOption = None,
    discard_candidates: DiscardOption = False,
    caption: CaptionOption = False,
) -> None:
    from glm_image_cli.cli import batchapi_view as batchapi_cmd
    from glm_image_cli.core.batchinput import FORMATS
    from glm_image_cli.core.expand import ExpandMode
    from glm_image_cli.core.textinput import check_encoding

    state = state_of(ctx)
    if batchapi_cmd.is_action(input_path, folder):  # batch status DIR, batch cancel DIR
        batchapi_cmd.status_or_cancel(state, input_path, folder or output_dir or _output_setting())
        return
    if folder is not None:
        raise UsageError("batchapi_extra_folder", folder=folder)
    via = batchapi_cmd.via_value(via)
    if output_dir is not None and str(output_dir) == "-":
        raise UsageError("stdout_folder_only", command="batch")
    if input_format is not None and input_format not in FORMATS:
        raise typer.BadParameter(", ".join(FORMATS), param_hint="--format")
    if max_images is not None and max_images < 1:
        raise UsageError("batch_max_images")
    if seed is not None and ExpandMode.parse(expand, seed).count is None:
        raise UsageError("expand_seed_without_random")
    vision = vision_setup(check, best_of, discard_candidates, caption, no_metadata=no_metadata,
                          no_history=no_history)
    reviewing = review and not yes and not dry_run
    if reviewing:
        check_review(state, review, yes)  # no terminal to review on: an error before any chat call
    if review and enhance is None:
        enhance = True
    request = BatchRequest(
        input_path=input_path, input_format=input_format, input_encoding=check_encoding(encoding), style=style,
        negative=negative, size=size, model=model, quality=quality, samples=samples, output_dir=output_dir,
        concurrency=concurrency, timeout=timeout,
        skip_invalid=skip_invalid, retry_failed=retry_failed, retry_unsafe=retry_unsafe, max_images=max_images,
        no_metadata=no_metadata, no_history=no_history, dry_run=dry_run,
        output={**output_flags(name, image_format, no_watermark, user_id), "batch-via": via}, enhance=enhance,
        no_cache=no_cache,
        template=template, expand=expand, seed=seed, wildcards=str(wildcards) if wildcards is not None else None,
        check=check, best_of=vision.best_of if vision is not None else None,
    )
    from glm_image_cli.cli.commands.batchrun import execute_batch

    raise typer.Exit(execute_batch(ctx, state, request, yes=yes, reviewing=reviewing, preview=preview,
                                   rerun_input=input_path, vision=vision))


def _output_setting() -> str:
    from glm_image_cli.storage.config import load_config

    return load_config().output_dir
