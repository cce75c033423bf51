"""Remake docs/compare-grid.png: `glm-image compare` run against the test suite's fake upstream on 127.0.0.1
(nothing leaves this machine).  The fake's pictures are drawn here, a colour per style with the model's name on
it, so the screenshot shows what compare itself makes: the cells, their names, the grid and its labels.

    python docs/compare_demo.py        (needs the test extra: pip install -e '.[test]')
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from glm_image_cli.storage.gridimage import find_cjk_font  # noqa: E402
from tests.fake_bigmodel import DEFAULT_KEY, FakeBigModel  # noqa: E402

COLOURS = {"水彩": (120, 170, 220), "油画": (190, 120, 60), "像素": (90, 180, 110)}


def picture(prompt: str, model: str) -> bytes:
    style = next((name for name in COLOURS if name in prompt), "")
    colour = COLOURS.get(style, tuple(hashlib.sha256(prompt.encode()).digest()[:3]))
    image = Image.new("RGB", (1024, 1024), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((312, 312, 712, 712), fill=tuple(min(255, c + 60) for c in colour))
    from PIL import ImageFont

    font_path = find_cjk_font()
    font = ImageFont.truetype(font_path, 64) if font_path else ImageFont.load_default(64)
    draw.text((60, 880), model, font=font, fill=(255, 255, 255))
    data = io.BytesIO()
    image.save(data, format="PNG")
    return data.getvalue()


class DrawingFake(FakeBigModel):
    """The fake upstream, answering each prompt with a picture of its own (base64)."""

    def _generated(self, body):  # type: ignore[override]
        if isinstance(body, dict) and body.get("prompt") and body.get("model"):
            self.image_bytes = picture(body["prompt"], body["model"])
        return super()._generated(body)


def main() -> None:
    with tempfile.TemporaryDirectory() as work, DrawingFake() as fake:
        fake.result_mode = "b64"
        env = {**os.environ, "GLM_BASE_URL": fake.base_url, "GLM_API_KEY": DEFAULT_KEY, "NO_PROXY": "127.0.0.1",
               "GLM_IMAGE_CONFIG": str(Path(work) / "config.toml"), "GLM_IMAGE_DATA_DIR": str(Path(work) / "data")}
        command = [sys.executable, "-m", "glm_image_cli", "compare", "一只猫", "--model", "cogview-4,cogview-3-flash",
                   "--style", "水彩,油画,像素", "-o", str(Path(work) / "out"), "--yes", "-j", "1"]
        subprocess.run(command, env=env, check=True)
        shutil.copyfile(Path(work) / "out" / "grid.png", ROOT / "docs" / "compare-grid.png")
    print(ROOT / "docs" / "compare-grid.png")


if __name__ == "__main__":
    main()
