"""`libchat-tui libanswers check`: the first thing a library runs after filling in [libanswers].

It logs in, finds the ticket queue, reads each linked dataset's fields from LibAnswers and
shows what the settings map to what. Every problem is one line starting with "error: ",
so the command can exit non-zero when any line does.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..analytics import Dataset
from .api import LibAnswersApi, LibAnswersError
from .mapping import MappingError, plan_dataset
from .settings import LibAnswersConfig


async def check(cfg: LibAnswersConfig, datasets: Mapping[str, Dataset]) -> list[str]:
    """The lines to print, in order; problems start with "error: "."""
    lines = [f"LibAnswers {cfg.site}: API client {cfg.client_id}, secret from {cfg.secret_source}"]
    async with LibAnswersApi(cfg) as api:
        try:
            good_for = await api.login()
        except LibAnswersError as exc:  # "could not log in to LibAnswers: ..." says so already
            said = str(exc) if str(exc).startswith("could not log in") else f"cannot log in: {exc}"
            return [*lines, f"error: {said}"]
        lines.append(f"logged in (the token is good for {good_for / 60:.0f} min)")
        lines += await _queue(api, cfg)
        for name, link in cfg.datasets.items():
            local = datasets.get(name)
            if local is None:
                known = ", ".join(sorted(datasets)) or "none"
                lines.append(f"error: [libanswers.datasets.{name}] names no local dataset (local: {known})")
                continue
            try:
                fields = await api.formfields(link.dataset_id)
            except LibAnswersError as exc:
                lines.append(f"error: dataset {name}: cannot read LibAnswers dataset "
                             f"{link.dataset_id}: {exc}")
                continue
            listed = "; ".join(f'{f.id} "{f.label}" ({f.html_type}{", required" if f.required else ""})'
                               for f in fields) or "no fields"
            lines.append(f"dataset {name} → LibAnswers dataset {link.dataset_id}: {listed}")
            try:
                plan = plan_dataset(local, link, fields)
            except MappingError as exc:
                lines.append(f"error: dataset {name}: {exc}")
                continue
            lines += [f"  {line}" for line in plan.describe()]
    for name in sorted(set(datasets) - set(cfg.datasets)):
        lines.append(f"dataset {name}: stays at the desk (no [libanswers.datasets.{name}])")
    if cfg.datasets and cfg.owner_email is None:
        who = ", ".join(sorted(cfg.owners)) or "nobody"
        lines.append(f"note: entries are recorded only for librarians listed in [libanswers.owners] ({who});"
                     " set owner_email for everyone else")
    return lines


async def _queue(api: LibAnswersApi, cfg: LibAnswersConfig) -> list[str]:
    if cfg.queue_id is None:
        return ["tickets stay at the desk (no queue_id in [libanswers])"]
    try:
        queues = await api.queues()
    except LibAnswersError as exc:
        return [f"error: cannot list the ticket queues: {exc}"]
    for queue in queues:
        if str(queue.get("id")) == str(cfg.queue_id):
            return [f"tickets go to queue {cfg.queue_id} \"{queue.get('name') or queue.get('queue') or ''}\""]
    usable = ", ".join(f'{q.get("id")} "{q.get("name") or ""}"' for q in queues) or "none"
    return [f"error: queue {cfg.queue_id} is not one this API client may use (it may use: {usable}); "
            "see LibAnswers admin: Queues"]
