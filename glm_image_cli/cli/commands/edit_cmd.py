"""`glm-image edit`: change images with a prompt, on a server with ``/images/edits`` (the ``openai`` backend).

The edit is a generation plan whose request carries the source images: the same runner, saver, recipe (with the
sources' paths and hashes), history, spend consent and retry rules as `generate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from glm_image_cli.cli.commands.common import (
    ConcurrencyOption,
    ModelOption,
    NameOption,
    NoHistoryOption,
    NoMetadataOption,
    RetryUnsafeOption,
    SamplesOption,
    SizeOption,
    TimeoutOption,
    YesOption,
    output_flags,
    state_of,
)
from glm_image_cli.cli.commands.generating import (
    BestOfOption,
    CaptionOption,
    CheckOption,
    DiscardOption,
    DryRunOption,
    OpenOption,
    PreviewOption,
    StdoutOutputDirOption,
    run_generate,
    stdout_or_folder,
    vision_setup,
)
from glm_image_cli.cli.commands.options import output_options
from glm_image_cli.cli.language import help_text
from glm_image_cli.core.session import GenerateRequest
from glm_image_cli.errors import UsageError

HELP = help_text("cmd.edit")


@output_options()
def edit(
    ctx: typer.Context,
    images: Annotated[list[Path], typer.Argument(metavar="IMAGE...", help=help_text("arg.edit_images"),
                                                 show_default=False)],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help=help_text("opt.edit_prompt"), show_default=False)],
    mask: Annotated[Path | None, typer.Option("--mask", help=help_text("opt.mask"), show_default=False,
                                              metavar="MASK")] = None,
    size: SizeOption = None,
    model: ModelOption = None,
    samples: SamplesOption = 1,
    output_dir: StdoutOutputDirOption = None,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    retry_unsafe: RetryUnsafeOption = False,
    name: NameOption = None,
    no_metadata: NoMetadataOption = False,
    no_history: NoHistoryOption = False,
    yes: YesOption = False,
    preview: PreviewOption = None,
    dry_run: DryRunOption = False,
    open_images: OpenOption = False,
    check: CheckOption = False,
    best_of: BestOfOption = None,
    discard_candidates: DiscardOption = False,
    caption: CaptionOption = False,
) -> None:
    state = state_of(ctx)
    output_dir, to_stdout = stdout_or_folder(output_dir)
    request = GenerateRequest(
        prompt=prompt, size=size, model=model, samples=samples, output_dir=output_dir, concurrency=concurrency,
        timeout=timeout, retry_unsafe=retry_unsafe, no_metadata=no_metadata, no_history=no_history,
        output=output_flags(name, None, False, None), yes=yes, command="edit", enhance=False,
        images=tuple(str(image) for image in images), mask=str(mask) if mask is not None else None,
        vision=vision_setup(check, best_of, discard_candidates, caption, no_metadata=no_metadata,
                            no_history=no_history),
    )
    try:
        run_generate(state, request, preview, dry_run=dry_run, open_images=open_images, to_stdout=to_stdout)
    except UsageError as error:
        if error.message_id == "edit_unsupported":
            raise _with_profile(error) from None
        raise


def _with_profile(error: UsageError) -> UsageError:
    """No edits on this backend: name the user's own profile that has them (the first), if there is one,
    rather than telling them to set one up."""
    from glm_image_cli.backends.registry import backend_named
    from glm_image_cli.storage.config import PROFILES_TABLE, config_path, read_config_file
    from glm_image_cli.storage.settingspec import SETTINGS, InvalidValue

    profiles = read_config_file(config_path()).get(PROFILES_TABLE)
    for name, table in (profiles.items() if isinstance(profiles, dict) else ()):
        try:
            backend = SETTINGS["backend"].parse(table.get("backend")) if isinstance(table, dict) else None
        except InvalidValue:
            continue
        if backend is not None and backend_named(backend).edits:
            return UsageError("edit_unsupported_profile", profile=name)
    return error
