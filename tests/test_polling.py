"""Asynchronous tasks are looked at densely around when the model's tasks usually finish: learned per model and
account beside the limits, planned as a pure function of what was learned (checked here on a virtual clock)."""

from __future__ import annotations

import itertools
import json
import random
import statistics
from pathlib import Path

from glm_image_cli.backends.bigmodel import BigModelClient, ImageRequest, PollingPolicy
from glm_image_cli.backends.polling import MIN_TASKS, TaskTimes, finished_between, next_wait, plan_looks, simulate
from tests.conftest import SECRET_PART
from tests.fake_bigmodel import DEFAULT_KEY


def measured(planner, tasks: int = 40, warm_up: int = 10, seed: int = 3) -> tuple[float, float]:
    """(mean delay from done to seen, mean looks) of tasks of 15-25 s after a warm-up, on a virtual clock."""
    rng = random.Random(seed)
    intervals: list[tuple[float, float]] = []
    delays, looks = [], []
    for index in range(warm_up + tasks):
        duration = rng.uniform(15, 25)
        seen = simulate(duration, planner(intervals), PollingPolicy().delays())
        intervals.append(finished_between([look.at for look in seen]))
        if index >= warm_up:
            delays.append(seen[-1].at - duration)
            looks.append(len(seen))
    return statistics.mean(delays), statistics.mean(looks)


def test_learned_looks_see_a_task_within_half_a_second_with_at_most_eight_looks() -> None:
    delay, looks = measured(plan_looks)
    assert delay <= 0.5 and looks <= 8
    fixed_delay, _ = measured(lambda intervals: ())
    assert fixed_delay > 1.0  # the fixed schedule (1, 2.5, 4.75 ... then every 3 s) sees them much later


def test_until_a_few_tasks_are_known_the_fixed_schedule_applies() -> None:
    assert plan_looks([(14.0, 17.0)] * (MIN_TASKS - 1)) == ()
    plan = plan_looks([(19.0, 19.5), (20.0, 20.5), (21.0, 21.5)])
    assert plan and all(a < b for a, b in itertools.pairwise(plan)) and 17 < plan[0] < 21


def test_a_late_look_does_not_bunch_up_the_next_ones_and_the_plan_ends_in_the_fixed_schedule() -> None:
    planned = iter((10.0, 11.0, 12.0))
    assert next_wait(planned, 11.5) == 0.5  # 10 and 11 are past: the next is at 12
    assert next_wait(planned, 12.5) is None  # then the fixed waits follow


def test_a_model_that_gets_slower_is_followed() -> None:
    intervals = [(4.5, 5.0)] * 20 + [(29.5, 30.0)] * 30
    plan = plan_looks(intervals[-50:])
    assert plan[-1] >= 30.0  # its looks reach where the tasks now finish


def test_task_times_are_kept_per_model_and_a_collected_task_teaches_nothing(fake) -> None:
    fake.polls_before_success = 2
    times = TaskTimes()
    with BigModelClient(DEFAULT_KEY, fake.base_url, polling=PollingPolicy(0.0, 0.0, 30.0), task_times=times) as client:
        client.request_image(ImageRequest("glm-image", "水墨"))
        client.collect("task-1")  # submitted earlier: when it started is not known here
    assert len(times.known("glm-image")) == 1 and times.known("cogview-4") == []


def test_a_batch_remembers_its_tasks_times_and_the_next_run_looks_when_they_finish(cli, fake, tmp_path) -> None:
    fake.task_seconds = (0.3, 0.5)  # the fixed schedule of the tests looks at once, again and again
    Path("p.txt").write_text("".join(f"a cat {i}\n" for i in range(4)), encoding="utf-8")
    first = cli("batch", "p.txt", "-o", "out", "-m", "glm-image", "--yes", "-j", "4")
    assert first.exit_code == 0, first.stderr
    store = json.loads((tmp_path / "data" / "limits.json").read_text(encoding="utf-8"))
    [entry] = [entry for key, entry in store.items() if key.endswith("|glm-image")]
    assert len(entry["durations"]) == 4 and all(low <= high for low, high in entry["durations"])
    assert SECRET_PART not in json.dumps(store) and DEFAULT_KEY not in json.dumps(store)
    plan = plan_looks([tuple(pair) for pair in entry["durations"]])
    assert plan[0] > 0.1
    tasks_before = set(fake.task_looks)
    Path("q.txt").write_text("".join(f"a dog {i}\n" for i in range(4)), encoding="utf-8")
    second = cli("batch", "q.txt", "-o", "out2", "-m", "glm-image", "--yes", "-j", "4")
    assert second.exit_code == 0, second.stderr
    looks = [times for task, times in fake.task_looks.items() if task not in tasks_before]
    assert len(looks) == 4
    # The second run waits for the planned first look (a sleep only ever ends late), and looks on the plan's times.
    assert all(times[0] >= plan[0] - 0.01 for times in looks)
    assert all(len(times) <= len(plan) for times in looks)
