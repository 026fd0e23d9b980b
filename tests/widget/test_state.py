"""The widget's state without widgets: cache, job planning, latest-wins worker."""

from __future__ import annotations

import threading
import time

import numpy as np

from saliency_widgets.widget._state import (
    MapCache,
    MapJob,
    ScoreJob,
    Selection,
    Want,
    WidgetState,
)
from saliency_widgets.widget._worker import Worker


def scores() -> np.ndarray:
    # Image 0 ranks classes 3, 1, 0, 2; image 1 ranks 0, 2, 3, 1; image 2 ranks 2, 3, 0, 1.
    return np.array([[0.5, 2.0, 0.1, 3.0], [4.0, 0.0, 3.0, 1.0], [1.0, 0.5, 9.0, 2.0]])


def started(prefetch: bool = True, k: int = 2, metrics: bool = False) -> WidgetState:
    state = WidgetState(3, Selection(0, None, "gradients"), k, prefetch, metrics)
    state.set_scores(scores(), {})
    return state


def test_cache_is_lru_bounded_in_bytes():
    cache = MapCache(max_bytes=3 * 16)  # three 2x2 float32 maps
    for i in range(3):
        cache.put((i, 0, "m"), np.full((2, 2), i))
    assert cache.get((0, 0, "m")) is not None  # 0 is now the most recent
    cache.put((3, 0, "m"), np.zeros((2, 2)))
    assert (1, 0, "m") not in cache  # the least recently used went
    assert (0, 0, "m") in cache and len(cache) == 3
    stored = cache.get((0, 0, "m"))
    assert stored.dtype == np.float32 and not stored.flags.writeable
    cache.clear()
    assert len(cache) == 0


def test_predictions_pick_the_top_class_and_classes_have_a_fixed_width():
    state = started()
    assert state.selection.class_index == 3
    assert state.top.tolist() == [[3, 1], [0, 2], [2, 3]]
    assert state.classes_for(0) == (3, 1, 3)  # top-2, padded with the top class
    assert state.classes_for(0, extra=2) == (3, 1, 2)
    assert state.classes_for(0, extra=1) == (3, 1, 3)


def test_changing_image_selects_its_predicted_class_unless_a_class_is_given():
    state = started()
    assert state.select(image=1).class_index == 0
    assert state.select(image=2, class_index=1).class_index == 1
    assert state.select(method="smoothgrad").image == 2


def test_next_job_serves_the_view_first_then_neighbours():
    state = started()
    job = state.next_job()
    assert job == MapJob(0, (3, 1, 3), "gradients", background=False)
    assert job.unique_classes() == (3, 1)
    state.record(job, np.zeros((3, 2, 2)))
    assert state.next_job() == MapJob(1, (0, 2, 0), "gradients", background=True)
    state.select(image=2, class_index=1)  # a class outside the top-2
    job = state.next_job()
    assert (job.image, job.classes, job.background) == (2, (2, 3, 1), False)
    state.record(job, np.zeros((3, 2, 2)))
    assert state.next_job().image == 1  # image 3 does not exist; 1 is the other neighbour
    assert started(prefetch=False).next_job().background is False


def test_failures_are_not_retried_until_the_image_is_picked_again():
    state = started(prefetch=False)
    job = state.next_job()
    state.record_failure(job, "boom")
    assert state.failure(0, "gradients") == "boom"
    assert state.failure(0, "smoothgrad") is None
    assert state.next_job() is None
    state.select(image=0)
    assert state.next_job() == job


def test_a_views_request_is_planned_after_the_selection_and_the_latest_wins():
    state = started(prefetch=False)
    state.ask(Want(0, ("smoothgrad", "gradcam")))
    state.ask(Want(0, ("gradients", "smoothgrad", "gradcam")))  # replaces the first
    planned = []
    while (job := state.next_job()) is not None:
        planned.append(job.method)
        state.record(job, np.zeros((3, 2, 2)))
    assert planned == ["gradients", "smoothgrad", "gradcam"]
    state.ask(Want(1, ("gradcam",), class_index=3))
    job = state.next_job()
    assert (job.image, job.method, job.classes) == (1, "gradcam", (0, 2, 3))
    assert state.held(0, "gradcam", (3, 1)).shape == (2, 2, 2)
    assert state.held(1, "gradcam", (0,)) is None


def test_worker_runs_until_the_planner_has_nothing_left():
    todo = list(range(5))
    done = []

    def plan():
        return (lambda: done.append(todo.pop(0))) if todo else None

    worker = Worker(plan, name="test-worker")
    worker.wake()
    assert worker.wait(timeout=10)
    assert done == [0, 1, 2, 3, 4] and not worker.busy
    worker.close()


def test_worker_always_computes_the_latest_request():
    """Requests that arrive while a job runs collapse into one: only the newest is computed."""
    latest = {"value": 0}
    computed: list[int] = []
    release = threading.Event()

    def plan():
        wanted = latest["value"]
        if computed and computed[-1] == wanted:
            return None

        def job():
            if not computed:
                release.wait(5)  # the first job is slow: requests pile up meanwhile
            computed.append(wanted)

        return job

    worker = Worker(plan, name="test-latest")
    worker.wake()
    time.sleep(0.05)
    for value in range(1, 50):
        latest["value"] = value
        worker.wake()
    release.set()
    assert worker.wait(timeout=10)
    assert computed == [0, 49]
    worker.close()


def test_worker_survives_a_failing_planner_and_refuses_to_wait_on_itself():
    calls = {"n": 0}
    errors = []

    def plan():
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("bug")
        if calls["n"] == 2:
            return lambda: errors.append(_wait_inside(worker))
        return None

    def _wait_inside(w):
        try:
            w.wait(0)
        except RuntimeError as error:
            return str(error)

    worker = Worker(plan, name="test-bug")
    worker.wake()
    assert worker.wait(timeout=10)
    worker.wake()
    assert worker.wait(timeout=10)
    assert errors == ["wait() called from the widget's worker thread"]
    worker.close()
    assert not worker.busy


def test_a_display_waiting_for_its_map_sees_the_whole_job_or_nothing():
    """The snapshot of a display is made once ``shows_selection``; it must then hold every class
    of the job (an export once showed no map because it looked between two classes' puts)."""
    state = started()
    job = state.next_job()
    assert job.image == 0 and len(job.unique_classes()) > 1
    slow_put = state.cache.put

    def put(key, saliency):
        slow_put(key, saliency)
        time.sleep(0.02)  # widen the window between the selected class and the others

    state.cache.put = put
    maps = np.ones((len(job.classes), 4, 4), np.float32)
    writer = threading.Thread(target=state.record, args=(job, maps))
    writer.start()
    while not state.shows_selection():
        time.sleep(0.001)
    assert state.held(job.image, job.method, job.unique_classes()) is not None
    writer.join()


def test_figures_come_after_the_maps_and_only_for_what_is_shown():
    state = started(prefetch=True, metrics=True)
    first = state.next_job()
    assert isinstance(first, MapJob) and first.image == 0
    state.record(first, np.zeros((3, 2, 2)))
    state.ask(Want(0, ("gradcam",)))
    # the maps a view asked for come before the selected map's figures ...
    assert state.next_job() == MapJob(0, (3, 1, 3), "gradcam")
    state.record(MapJob(0, (3, 1, 3), "gradcam"), np.zeros((3, 2, 2)))
    # ... which come before the neighbours' maps, and so do the figures a view asked for
    assert state.next_job() == ScoreJob((0, 3, "gradients"))
    state.cards[(0, 3, "gradients")] = object()  # type: ignore[assignment]
    state.ask_sanity((0, 3, "gradients"))
    assert state.next_job() == ScoreJob((0, 3, "gradients"), "sanity")
    state.checks[(0, 3, "gradients")] = "failed"
    state.ask_scores(0, 3, ("gradients", "gradcam"))
    assert state.next_job() == ScoreJob((0, 3, "gradcam"))
    state.score_failures[(0, 3, "gradcam")] = "failed"  # a failure is not retried
    assert isinstance(state.next_job(), MapJob) and state.next_job().background
    # A new selection: the old image's figures are not planned any more (latest wins).
    state.select(image=1)
    state.cards.clear()
    state.record(MapJob(1, (0, 2, 0), "gradients"), np.zeros((3, 2, 2)))
    assert state.next_job() == ScoreJob((1, 0, "gradients"))
    # A display waits for the maps, not for their figures (they follow as a message).
    assert state.shows_selection() is True
    assert WidgetState(3, Selection(0, None, "g"), 2, metrics=False).metrics is False
