"""Benchmark (not a test): render a chronology of N entries to PDF and report pages,
seconds and peak memory (this process and its child processes). Builds the entries in a
transaction that is rolled back, so nothing is left behind.

    manage.py chronology_benchmark --entries 2000 [--json result.json] [--save-pdf out.pdf]
"""

import json

from django.core.management.base import BaseCommand

from chronologies.benchmark import run_benchmark


class Command(BaseCommand):
    help = "Time a chronology PDF of N entries (pages, seconds, peak memory)"

    def add_arguments(self, parser):
        parser.add_argument("--entries", type=int, default=2000)
        parser.add_argument("--json", metavar="PATH", help="Also write the result as JSON")
        parser.add_argument("--save-pdf", metavar="PATH", help="Keep the PDF")
        parser.add_argument(
            "--chunk-entries",
            type=int,
            help="Rows per part (default: CHRONOLOGY_PDF_CHUNK_ENTRIES)",
        )
        parser.add_argument(
            "--processes", type=int, help="Processes (default: CHRONOLOGY_PDF_PROCESSES)"
        )

    def handle(
        self,
        *args,
        entries,
        json=None,
        save_pdf=None,
        chunk_entries=None,
        processes=None,
        **options,
    ):
        result = run_benchmark(
            entries, save_pdf=save_pdf, chunk_entries=chunk_entries, processes=processes
        )
        self.stdout.write(" ".join(f"{k}={v}" for k, v in result.items()))
        if json:
            _write_json(json, result)


def _write_json(path, result):
    with open(path, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
