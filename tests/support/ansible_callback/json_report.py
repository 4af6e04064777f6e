# A stdout callback for the tests (tests/ansible.rs, tests/ansible_template.rs): the whole run
# as one JSON document on stdout, in the shape of the ansible.posix collection's `json`
# callback (plays[].tasks[].hosts{host: result}, stats{host: counters}), so the tests need only
# ansible-core, not the 500 MB `ansible` package that ships ansible.posix.
from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: json_report
type: stdout
short_description: the run as one JSON document (tests only)
description:
  - Prints every task result per host and the per-host stats as one JSON document.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "json_report"

    def __init__(self, display=None):
        super().__init__(display)
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({"play": {"name": play.get_name()}, "tasks": []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]["tasks"].append({"task": {"name": task.get_name()}, "hosts": {}})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _record(self, result, **extra):
        record = dict(result._result)
        record.update(extra)
        record["action"] = result._task.action
        self.plays[-1]["tasks"][-1]["hosts"][result._host.get_name()] = record

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        doc = {"plays": self.plays, "stats": summary}
        self._display.display(json.dumps(doc, indent=1, sort_keys=True, default=str))
