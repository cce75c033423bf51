"""The library API (``from glm_image_cli import Studio``): the README's example runs as written, and the
use case it owns (estimate, consent, budget, rewrite, run, drain, results) behaves as documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from glm_image_cli import Cancel, GlmImageError, Stage, Studio
from tests.fake_bigmodel import CHAT_ROUTE, SYNC_ROUTE, Reply

README = Path(__file__).resolve().parents[1] / "README.md"
README_ZH = README.with_name("README.zh-CN.md")


def readme_python_example(readme: Path = README, heading: str = "## Use from Python") -> str:
    text = readme.read_text(encoding="utf-8")
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.parametrize(("readme", "heading"), [(README, "## Use from Python"), (README_ZH, "## 在 Python 中使用")],
                         ids=["en", "zh"])
def test_the_readme_example_runs_as_written(fake, tmp_path: Path, readme: Path, heading: str) -> None:
    work = tmp_path / "example"
    work.mkdir()
    (work / "example.py").write_text(readme_python_example(readme, heading), encoding="utf-8")
    result = subprocess.run([sys.executable, "example.py"], cwd=work, env=dict(os.environ), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert float(lines[0].split()[0]) > 0 and lines[0].split()[1] == "CNY"  # the estimate, before anything
    made = [line.split() for line in lines[1:]]
    assert len(made) == 2 and all((work / path).is_file() and error == "None" for path, _, _, error in made)
    assert fake.count(SYNC_ROUTE) == 2
    assert "Traceback" not in result.stderr


def test_estimate_and_plan_send_nothing(fake) -> None:
    with Studio.from_config(overrides={"model": "cogview-4"}) as studio:
        plan = studio.plan("a red bicycle", samples=3)
        estimate = studio.estimate(plan)
    assert estimate.images == {"cogview-4": 3} and estimate.total == pytest.approx(0.18)
    assert fake.requests == []


def test_a_run_above_the_threshold_without_consent_is_refused_before_sending(fake, tmp_path: Path) -> None:
    with Studio.from_config(overrides={"confirm-above": 0.05}) as studio:
        with pytest.raises(GlmImageError) as refused:
            studio.generate(studio.plan("a cat", samples=2), output_dir=tmp_path / "out")
        asked = []
        run = studio.generate(studio.plan("a cat", samples=2), output_dir=tmp_path / "out",
                              consent=lambda estimate: asked.append(estimate) or True)
    assert refused.value.code == "SPEND_NEEDS_YES"
    assert len(asked) == 1 and asked[0].image_count == 2
    assert [result.ok for result in run] == [True, True] and fake.count(SYNC_ROUTE) == 2


def test_declining_consent_sends_nothing(fake, tmp_path: Path) -> None:
    from glm_image_cli import SpendDeclined

    with Studio.from_config(overrides={"confirm-above": 0}) as studio, pytest.raises(SpendDeclined):
        studio.generate(studio.plan("a cat"), output_dir=tmp_path / "out", consent=lambda estimate: False)
    assert fake.requests == []


def test_results_are_plain_data_with_cost_and_the_documented_json(fake, tmp_path: Path) -> None:
    events = []
    with Studio.from_config() as studio:
        run = studio.generate(studio.plan("一只橘猫", samples=2), output_dir=tmp_path / "out",
                              on_event=lambda event: events.append(event.stage))
    first = run.results[0]
    assert first.path is not None and first.path.is_file() and first.path.parent == tmp_path / "out"
    assert first.cost and first.cost > 0 and first.currency == "CNY" and first.request_id
    assert first.to_json()["path"] == str(first.path) and first.to_json()["ok"] is True
    assert not any(isinstance(value, bytes) for value in vars(first).values())
    assert Stage.SAVED in events and Stage.REQUESTING in events


def test_enhancement_goes_through_the_runner_and_is_recorded_in_the_plan(fake, tmp_path: Path) -> None:
    fake.chat_reply = "A plump ginger cat asleep on a sunny windowsill, soft light"
    with Studio.from_config() as studio:
        run = studio.generate(studio.plan("a cat"), output_dir=tmp_path / "out", enhance=True)
    assert fake.count(CHAT_ROUTE) == 1
    assert run.plans[0].enhanced_prompt == fake.chat_reply
    assert fake.seen(SYNC_ROUTE)[0].body["prompt"].startswith(fake.chat_reply)


def test_a_failed_rewrite_says_it_was_the_enhancement_and_requests_no_image(fake, tmp_path: Path) -> None:
    fake.script(CHAT_ROUTE, Reply.error(401, "1001", "bad key"))
    with Studio.from_config() as studio, pytest.raises(GlmImageError) as failed:
        studio.generate(studio.plan("a cat"), output_dir=tmp_path / "out", enhance=True)
    assert failed.value.during == "enhance" and failed.value.code == "AUTH_FAILED"
    assert fake.count(SYNC_ROUTE) == 0


def test_cancel_stops_sending_and_keeps_what_is_in_flight(fake, tmp_path: Path) -> None:
    cancel = Cancel()
    with Studio.from_config(overrides={"concurrency": 1}) as studio:
        plan = studio.plan("a cat", samples=4)

        def cancel_when_first_is_sent(event) -> None:
            if event.stage is Stage.REQUESTING:  # on its way out, holding the only slot: cancel now
                cancel.cancel()

        run = studio.generate(plan, output_dir=tmp_path / "out", cancel=cancel, on_event=cancel_when_first_is_sent)
    assert fake.count(SYNC_ROUTE) == 1  # the one in flight finished and was kept; the other three never left
    assert [result.ok for result in run] == [True] and run.not_sent == 3


def test_overrides_take_setting_names_python_style_too_and_refuse_unknown_ones(fake) -> None:
    with Studio.from_config(overrides={"budget_daily": 0, "output_dir": "made"}) as studio:
        assert studio.settings.budget_daily == 0 and studio.settings.output_dir == "made"
    with pytest.raises(GlmImageError) as unknown:
        Studio.from_config(overrides={"modle": "glm-image"})
    assert unknown.value.code == "CONFIG_UNKNOWN_KEY" and "model" in str(unknown.value)
    with pytest.raises(GlmImageError) as bad:
        Studio.from_config(overrides={"timeout": 1})
    assert bad.value.code == "FLAG_BAD_VALUE" and "overrides['timeout']" in str(bad.value)


@pytest.mark.parametrize("call", [
    lambda studio: studio.plan("a cat", samples="2"),
    lambda studio: studio.plan(None),
    lambda studio: studio.plan("a cat", style=3),
    lambda studio: studio.estimate(42),
])
def test_arguments_of_the_wrong_type_are_usage_errors(fake, call) -> None:
    with Studio.from_config() as studio, pytest.raises(GlmImageError) as wrong:
        call(studio)
    assert wrong.value.code == "BAD_ARGUMENT" and str(wrong.value).endswith(".")
    assert fake.requests == []


def test_a_prompt_may_stand_for_its_plan_and_a_run_can_be_indexed(fake, tmp_path: Path) -> None:
    with Studio.from_config() as studio:
        assert studio.estimate("a cat").image_count == 1
        run = studio.generate("a cat", output_dir=tmp_path / "out")
    assert len(run) == 1 and run[0].ok and run[0].path.is_file()


def test_the_library_refusal_names_consent_not_a_cli_flag(fake, tmp_path: Path) -> None:
    with Studio.from_config(overrides={"confirm-above": 0}) as studio, pytest.raises(GlmImageError) as refused:
        studio.generate("a cat", output_dir=tmp_path / "out")
    assert refused.value.code == "SPEND_NEEDS_YES" and "consent=" in str(refused.value)
    assert "--yes" not in str(refused.value) and fake.requests == []


def test_a_failing_notice_callback_never_loses_the_run_of_paid_images(fake, tmp_path: Path) -> None:
    cancel = Cancel()

    def complain(notice) -> None:
        raise RuntimeError("the notebook's logger is broken")

    def cancel_on_first(event) -> None:
        if event.stage is Stage.REQUESTING:
            cancel.cancel()

    with Studio.from_config(overrides={"concurrency": 1}) as studio:
        run = studio.generate(studio.plan("a cat", samples=3), output_dir=tmp_path / "out", cancel=cancel,
                              on_event=cancel_on_first, on_notice=complain)
    assert [result.ok for result in run] == [True] and run.not_sent == 2
    assert isinstance(run.output_failed, RuntimeError) and fake.count(SYNC_ROUTE) == 1
