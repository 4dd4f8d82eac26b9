"""Read locust's CSV statistics of the scenario and the trivial view; print a summary and
write JSON. Usage: report.py SCENARIO_PREFIX TRIVIAL_PREFIX OUT.json USERS DURATION"""

import csv
import json
import os
import sys


def read(prefix):
    with open(f"{prefix}_stats.csv") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}

    def number(value):
        return float(value) if value not in ("", "N/A") else 0.0

    def figures(row):
        return {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 2),
            "median_ms": number(row["50%"]),
            "p95_ms": number(row["95%"]),
            "p99_ms": number(row["99%"]),
            "max_ms": round(number(row["Max Response Time"])),
        }

    out = {"total": figures(rows.pop("Aggregated"))}
    out["by_name"] = {name: figures(row) for name, row in rows.items()}
    # Exceptions in the users' own code (a sign-in that failed, say) are errors too.
    try:
        with open(f"{prefix}_exceptions.csv") as f:
            out["exceptions"] = sum(int(row["Count"]) for row in csv.DictReader(f))
    except FileNotFoundError:
        out["exceptions"] = 0
    return out


def main():
    scenario_prefix, trivial_prefix, path, users, duration = sys.argv[1:6]
    scenario, trivial = read(scenario_prefix), read(trivial_prefix)
    s, t = scenario["total"], trivial["total"]
    result = {
        "cores": os.cpu_count(),
        "users": int(users),
        "duration": duration,
        "scenario": scenario,
        "trivial": trivial,
        "ratio": {
            "p95": round(s["p95_ms"] / t["p95_ms"], 1) if t["p95_ms"] else None,
            "median": round(s["median_ms"] / t["median_ms"], 1) if t["median_ms"] else None,
            "rps": round(s["rps"] / t["rps"], 2) if t["rps"] else None,
        },
    }
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"{'request':<20} {'count':>6} {'fail':>5} {'rps':>6} {'median':>7} {'p95':>7}")
    for name, row in [*scenario["by_name"].items(), ("SCENARIO", s), *trivial["by_name"].items()]:
        print(
            f"{name:<20} {row['requests']:>6} {row['failures']:>5} {row['rps']:>6} "
            f"{row['median_ms']:>7.0f} {row['p95_ms']:>7.0f}"
        )
    errors = s["failures"] + scenario["exceptions"]
    print(
        f"Scenario: {s['requests']} requests, {errors} errors, {s['rps']} req/s, "
        f"p95 {s['p95_ms']:.0f} ms. Trivial view: {t['rps']} req/s, p95 {t['p95_ms']:.0f} ms. "
        f"Ratio of p95: {result['ratio']['p95']}x. Written to {path}"
    )
    return 1 if errors or t["failures"] or trivial["exceptions"] else 0


if __name__ == "__main__":
    sys.exit(main())
