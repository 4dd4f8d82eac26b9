"""The fault-injection suite's SMTP sink: accepts every message on 127.0.0.1:PORT and
appends one JSON line per message to OUT, with the time it arrived, its envelope
recipients, its Message-ID and its Subject. Nothing is relayed anywhere.

    python scripts/faults/sink.py --port 2525 --out received.jsonl

Stopped (SIGTERM), the port refuses connections until the sink is started again.
"""

import argparse
import json
import os
import signal
import threading
import time
from email.parser import BytesHeaderParser
from email.policy import default

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, path: str):
        self._file = open(path, "a", encoding="utf-8")  # open until the sink exits
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        headers = BytesHeaderParser(policy=default).parsebytes(content)
        line = json.dumps(
            {
                "at": time.time(),
                "rcpt": list(envelope.rcpt_tos),
                "message_id": str(headers.get("Message-ID", "")).strip(),
                "subject": str(headers.get("Subject", "")),
            }
        )
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    controller = Controller(Recorder(args.out), hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on 127.0.0.1:{args.port}, writing {args.out}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
