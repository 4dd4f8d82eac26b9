"""Run every sweep in the beat schedule once, in this process, starting at a given moment:
two of these started together are two sweeps at the same moment (fault d).

    python scripts/faults/sweep.py --at EPOCH_SECONDS

A sweep is a beat entry whose task name contains "sweep" (the escalations sweep and the
visits sweep); each is called as its task function, the code beat's runs execute. Prints
one JSON line: each task's result or error.
"""

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", type=float, required=True, help="start at this time.time()")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguarding.settings")
    import django

    django.setup()
    from django.conf import settings

    names = sorted(
        {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values() if "sweep" in e["task"]}
    )
    tasks = []
    for name in names:
        module, _, attr = name.rpartition(".")
        tasks.append((name, getattr(importlib.import_module(module), attr)))
    wait = args.at - time.time()
    if wait > 0:
        time.sleep(wait)  # the agreed moment, so that both processes sweep at once
    out: dict = {"started": time.time()}
    failed = False
    for name, task in tasks:
        try:
            out[name] = task()
        except Exception as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
            failed = True
    out["finished"] = time.time()
    print(json.dumps(out, default=str), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
