"""The typed settings: one field per entry of the SETTINGS table, so the two cannot drift apart."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from glm_image_cli.storage import config
from glm_image_cli.storage.config import ResolvedConfig, Settings, load_config
from glm_image_cli.storage.settingspec import SETTINGS


def test_the_settings_fields_are_the_settings_table_in_order() -> None:
    assert [f.name for f in dataclasses.fields(Settings)] == [key.replace("-", "_") for key in SETTINGS]


def test_the_resolved_config_adds_only_its_bookkeeping_to_the_settings() -> None:
    extra = {f.name for f in dataclasses.fields(ResolvedConfig)} - {f.name for f in dataclasses.fields(Settings)}
    assert extra == {"path", "values", "sources", "user_styles", "warnings", "prices", "profile",
                     "secret_problems"}


def test_every_default_has_the_declared_type() -> None:
    hints = typing.get_type_hints(Settings, vars(config))
    for key, setting in SETTINGS.items():
        hint = hints[key.replace("-", "_")]
        allowed = typing.get_args(hint) or (hint,)
        if key == "base-url":  # the URL in use: the region's default when the setting is unset
            assert allowed == (str,)
        elif setting.default is None:
            assert type(None) in allowed, key
        else:
            assert type(setting.default) in allowed, key


def test_values_are_typed_attributes(tmp_path: Path) -> None:
    cfg = load_config(flags={"concurrency": "4", "timeout": "30", "output-dir": "~/pictures"},
                      environ={"GLM_IMAGE_CONFIRM_ABOVE": "2.5", "GLM_IMAGE_WATERMARK": "off"},
                      path=tmp_path / "missing.toml")
    assert cfg.concurrency == 4 and isinstance(cfg.concurrency, int)
    assert cfg.timeout == 30.0 and isinstance(cfg.timeout, float)
    assert cfg.confirm_above == 2.5 and cfg.watermark is False
    assert cfg.output_dir == "~/pictures" and cfg.model == "cogview-4-250304" and cfg.size is None
    assert cfg.sources["concurrency"] == "flag" and cfg.sources["confirm-above"] == "env:GLM_IMAGE_CONFIRM_ABOVE"
    assert cfg["concurrency"] == 4  # by setting name, as `config show` reads it


def test_base_url_is_the_url_in_use(tmp_path: Path) -> None:
    cfg = load_config(environ={"GLM_IMAGE_REGION": "intl"}, path=tmp_path / "missing.toml")
    assert cfg["base-url"] is None and cfg.base_url.startswith("https://") and cfg.region == "intl"
    cfg = load_config(environ={"GLM_BASE_URL": "http://localhost:9/v4/"}, path=tmp_path / "missing.toml")
    assert cfg.base_url == "http://localhost:9/v4"


def test_the_resolved_config_cannot_be_changed(tmp_path: Path) -> None:
    cfg = load_config(environ={}, path=tmp_path / "missing.toml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.concurrency = 3  # type: ignore[misc]
