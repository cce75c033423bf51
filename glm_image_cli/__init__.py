"""glm-image: text-to-image on Zhipu BigModel / Z.ai from the command line, and from Python:

    from glm_image_cli import Studio

The library API (``Studio``, its plans, estimates and results) is loaded on first use, so the console script's
fast paths (--help, --version, TAB completion) never pay for it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing here would slow every --help and TAB
__version__ = "0.1.0"

# name -> module that defines it: the public library API
_API = {
    "Studio": "glm_image_cli.core.studio",
    "Job": "glm_image_cli.core.studio",
    "Run": "glm_image_cli.core.results",
    "Result": "glm_image_cli.core.results",
    "ErrorInfo": "glm_image_cli.core.results",
    "Notice": "glm_image_cli.core.results",
    "Cancel": "glm_image_cli.core.results",
    "Abandoned": "glm_image_cli.core.results",
    "Estimate": "glm_image_cli.core.consent",
    "GenerationPlan": "glm_image_cli.core.plans",
    "Event": "glm_image_cli.core.runner",
    "Stage": "glm_image_cli.core.runner",
    "GlmImageError": "glm_image_cli.errors",
    "BudgetExceeded": "glm_image_cli.errors",
    "SpendDeclined": "glm_image_cli.errors",
    "VisionSetup": "glm_image_cli.core.bestof",  # --check, --caption, --best-of: generate(..., vision=...)
    "Verdict": "glm_image_cli.core.vision",
}
__all__ = [  # noqa: RUF022  (grouped as _API is)
    "__version__", "Studio", "Job", "Run", "Result", "ErrorInfo", "Notice", "Cancel", "Abandoned", "Estimate",
    "GenerationPlan", "Event", "Stage", "GlmImageError", "BudgetExceeded", "SpendDeclined", "VisionSetup", "Verdict",
]

if TYPE_CHECKING:
    from typing import Any

    from glm_image_cli.core.bestof import VisionSetup
    from glm_image_cli.core.consent import Estimate
    from glm_image_cli.core.plans import GenerationPlan
    from glm_image_cli.core.results import Abandoned, Cancel, ErrorInfo, Notice, Result, Run
    from glm_image_cli.core.runner import Event, Stage
    from glm_image_cli.core.studio import Job, Studio
    from glm_image_cli.core.vision import Verdict
    from glm_image_cli.errors import BudgetExceeded, GlmImageError, SpendDeclined


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'glm_image_cli' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
