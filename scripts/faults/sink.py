"""The fault-injection suite's SMTP sink: accepts every message on 127.0.0.1:PORT and
appends one JSON line per message to OUT, with the time it arrived, its envelope
recipients, its Message-ID and its Subject. Nothing is relayed anywhere. With
--latency, each recipient is accepted after that many seconds, as a relay takes a while.

    python scripts/faults/sink.py --port 2525 --out received.jsonl --latency 0.02

Stopped (SIGTERM), the port refuses connections until the sink is started again.
"""

import argparse
import asyncio
import json
import os
import signal
import threading
import time
from email.parser import BytesHeaderParser
from email.policy import default

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, path: str, latency: float):
        self._file = open(path, "a", encoding="utf-8")  # open until the sink exits
        self._lock = threading.Lock()
        self.latency = latency

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A relay's latency, spent before the message is handed over: a sender stopped
        # meanwhile has delivered nothing, as with a real relay. Sending takes a while,
        # so a fault can land in the middle of a batch, as it would in production.
        if self.latency:
            await asyncio.sleep(self.latency)
        envelope.rcpt_tos.append(address)
        return "250 OK"

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
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per recipient")
    args = parser.parse_args()

    recorder = Recorder(args.out, args.latency)
    controller = Controller(recorder, hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on 127.0.0.1:{args.port}, writing {args.out}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
