"""Task timing for profiling deploys: the slowest tasks at the end of a run.

Silent unless VOICENOTE_TIMER_TOP is set to how many tasks to list, so day-to-day output
stays short; set it when profiling (docs/BENCHMARKS.md). Enabled in ansible.cfg
(callbacks_enabled).
"""

import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: voicenote_timer
type: aggregate
short_description: list the tasks that took longest in a run
description: >-
  Set VOICENOTE_TIMER_TOP=N to print, when the run ends, the N tasks that took longest in
  total (a task run several times adds up) and how often each ran.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "voicenote_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._started: dict[str, float] = {}
        # A task that runs again (each batch, each phase) adds up: its total and its count.
        self._durations: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._current: str | None = None

    def _close_current(self) -> None:
        if self._current is not None:
            spent = time.monotonic() - self._started[self._current]
            self._durations[self._current] = self._durations.get(self._current, 0.0) + spent
            self._counts[self._current] = self._counts.get(self._current, 0) + 1
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_current()
        self._current = f"{task.get_path() or ''} {task.get_name()}".strip()
        self._started[self._current] = time.monotonic()

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close_current()
        top = int(os.environ.get("VOICENOTE_TIMER_TOP", "0") or 0)
        if top <= 0:
            return
        slowest = sorted(self._durations.items(), key=lambda item: item[1], reverse=True)[:top]
        total = sum(self._durations.values())
        self._display.display(f"slowest {len(slowest)} tasks of {total:.2f}s in tasks:")
        for name, seconds in slowest:
            self._display.display(f"  {seconds:7.2f}s  {self._counts[name]:3d}x  {name}")
