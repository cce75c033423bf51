"""`glm-image generate`: one prompt, n images, saved to the output folder."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from glm_image_cli.cli.commands.common import (
    ConcurrencyOption,
    EncodingOption,
    ModelOption,
    NameOption,
    NegativeOption,
    NoHistoryOption,
    NoMetadataOption,
    NoWatermarkOption,
    QualityOption,
    RetryUnsafeOption,
    SamplesOption,
    SizeOption,
    StyleOption,
    TimeoutOption,
    UserIdOption,
    YesOption,
    output_flags,
    state_of,
)
from glm_image_cli.cli.commands.completion import complete_format
from glm_image_cli.cli.commands.generating import (
    BestOfOption,
    CaptionOption,
    CheckOption,
    DiscardOption,
    DryRunOption,
    EnhanceOption,
    ExpandOption,
    MaxImagesOption,
    NoCacheOption,
    OpenOption,
    PreviewOption,
    SeedOption,
    StdoutOutputDirOption,
    TemplateOption,
    WildcardsOption,
    prompt_source,
    run_generate,
    stdout_or_folder,
    vision_setup,
)
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.commands.review import ReviewOption
from glm_image_cli.cli.language import help_text
from glm_image_cli.core.session import GenerateRequest
from glm_image_cli.errors import UsageError

HELP = help_text("cmd.generate")


@output_options()
def generate(
    ctx: typer.Context,
    words: Annotated[list[str] | None, typer.Argument(metavar="PROMPT", help=help_text("arg.prompt_words"),
                                                      show_default=False)] = None,
    encoding: EncodingOption = None,
    template: TemplateOption = None,
    style: StyleOption = None,
    negative: NegativeOption = None,
    size: SizeOption = None,
    width: Annotated[int | None, typer.Option("--width", help=help_text("opt.width"), show_default=False)] = None,
    height: Annotated[int | None, typer.Option("--height", help=help_text("opt.height"), show_default=False)] = None,
    model: ModelOption = None,
    quality: QualityOption = None,
    samples: SamplesOption = 1,
    output_dir: StdoutOutputDirOption = None,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    retry_unsafe: RetryUnsafeOption = False,
    name: NameOption = None,
    image_format: Annotated[str | None, typer.Option("--format", "--image-format", help=help_text("opt.format"),
                                                     show_default=False, metavar="FORMAT",
                                                     autocompletion=complete_format)] = None,
    no_metadata: NoMetadataOption = False,
    no_history: NoHistoryOption = False,
    no_watermark: NoWatermarkOption = False,
    user_id: UserIdOption = None,
    yes: YesOption = False,
    enhance: EnhanceOption = None,
    no_cache: NoCacheOption = False,
    review: ReviewOption = False,
    preview: PreviewOption = None,
    dry_run: DryRunOption = False,
    open_images: OpenOption = False,
    expand: ExpandOption = None,
    seed: SeedOption = None,
    wildcards: WildcardsOption = None,
    max_images: MaxImagesOption = 100,
    check: CheckOption = False,
    best_of: BestOfOption = None,
    discard_candidates: DiscardOption = False,
    caption: CaptionOption = False,
) -> None:
    from glm_image_cli.core.plans import combine_size

    state = state_of(ctx)
    output_dir, to_stdout = stdout_or_folder(output_dir)
    if max_images < 1:
        raise UsageError("batch_max_images")
    if encoding is not None and "-" not in (words or []):
        _read_prompt("", encoding)  # an unknown encoding, or one without a prompt from standard input: say so
    source = prompt_source(ctx, words or [], template, expand, seed, wildcards,
                           lambda text: _read_prompt(text, encoding))
    request = GenerateRequest(
        prompt=source.text or "", source=source, max_images=max_images, style=style, negative=negative,
        size=combine_size(size, width, height),
        model=model, quality=quality, samples=samples, output_dir=output_dir, concurrency=concurrency,
        timeout=timeout, retry_unsafe=retry_unsafe, no_metadata=no_metadata, no_history=no_history,
        output=output_flags(name, image_format, no_watermark, user_id), yes=yes,
        enhance=True if review and enhance is None else enhance, no_cache=no_cache, review=review,
        vision=vision_setup(check, best_of, discard_candidates, caption, no_metadata=no_metadata,
                            no_history=no_history),
    )
    run_generate(state, request, preview, dry_run=dry_run, open_images=open_images, to_stdout=to_stdout)


MAX_PROMPT_BYTES = 1024 * 1024


def _read_prompt(prompt: str, encoding: str | None = None) -> str:
    from glm_image_cli.core.textinput import check_encoding, decode_text

    check_encoding(encoding)
    if prompt != "-":
        if encoding is not None:
            raise UsageError("encoding_needs_stdin")
        return prompt
    try:
        data = sys.stdin.buffer.read(MAX_PROMPT_BYTES + 1) if hasattr(sys.stdin, "buffer") \
            else sys.stdin.read(MAX_PROMPT_BYTES + 1).encode()
        if len(data) > MAX_PROMPT_BYTES:  # no model takes a prompt this long; never read without end
            raise UsageError("stdin_unreadable", detail=f"larger than {MAX_PROMPT_BYTES} bytes")
    except OSError as exc:
        raise UsageError("stdin_unreadable", detail=str(exc)) from None
    text = decode_text(data, encoding, source="stdin")
    if not text.strip():
        raise UsageError("empty_prompt")
    return text
