"""Summarise the fuzzing run from schemathesis's NDJSON reports: for each role the API
operations it sent requests to, the requests and the responses of 5xx (each 5xx listed
with the server's traceback). Writes the figures as JSON; exits 1 on any 5xx, or if a
role's run sent no request at all.

    report.py FUZZ_DIR OUT_JSON
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path


def read_role(path: Path) -> dict:
    operations: set[str] = set()
    statuses: Counter = Counter()
    errors: list[str] = []
    server_errors: list[str] = []
    if path.exists():
        for line in path.read_text().splitlines():
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if finished is None:
                if "NonFatalError" in event or "FatalError" in event:
                    errors.append(json.dumps(event)[:300])
                continue
            recorder = finished["recorder"]
            for interaction in recorder.get("interactions", {}).values():
                operations.add(recorder["label"])
                response = interaction.get("response")
                status = response["status_code"] if response else None
                statuses[status] += 1
                if status is None or status >= 500:
                    request = interaction["request"]
                    server_errors.append(f"{status} {request['method']} {request['uri']}")
    return {
        "operations": len(operations),
        "requests": sum(statuses.values()),
        "5xx": len(server_errors),
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "server_errors": server_errors[:50],
        "errors": errors[:10],
    }


# A new record in the server's log: gunicorn's "[date] ..." or Django's "Not Found: /path".
NEW_RECORD = re.compile(r"^(\[|[A-Z][A-Za-z -]+: /)")


def tracebacks(log: Path, limit: int = 5) -> list[str]:
    """The first few errors Django logged, each with its traceback."""
    if not log.exists():
        return []
    blocks: list[list[str]] = []
    inside = False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Internal Server Error"):
            blocks.append([line])
            inside = True
        elif inside and NEW_RECORD.match(line):
            inside = False
        elif inside:
            blocks[-1].append(line)
    return ["\n".join(b).rstrip() for b in blocks][:limit]


def main(fuzz_dir: str, out: str) -> int:
    base = Path(fuzz_dir)
    roles = [line.split("\t")[0] for line in (base / "roles.tsv").read_text().splitlines() if line]
    results = {role: read_role(base / f"{role}.ndjson") for role in roles}
    width = max(len(r) for r in roles)
    print(f"\n{'role':<{width}}  {'operations':>10}  {'requests':>8}  {'5xx':>4}")
    for role, r in results.items():
        print(f"{role:<{width}}  {r['operations']:>10}  {r['requests']:>8}  {r['5xx']:>4}")
    total = {k: sum(r[k] for r in results.values()) for k in ("requests", "5xx")}
    print(f"{'total':<{width}}  {'':>10}  {total['requests']:>8}  {total['5xx']:>4}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(results, indent=2) + "\n")
    failed = False
    for role, r in results.items():
        if r["requests"] == 0:
            failed = True
            print(f"\n{role}: no request was sent; see {base / (role + '.log')}")
            for error in r["errors"]:
                print("  " + error)
        if r["5xx"]:
            failed = True
            print(f"\n{role}: {r['5xx']} responses of 5xx, e.g.")
            for line in r["server_errors"][:10]:
                print("  " + line)
    if total["5xx"]:
        print(f"\nThe server's log ({base / 'web.log'}):")
        for block in tracebacks(base / "web.log"):
            print(block.rstrip()[-3000:])
    print(f"\nFigures written to {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
