"""A real SMTP server for tests (aiosmtpd, in a thread of its own), that keeps what it
receives and can refuse: a recipient with a 5xx, or a message with a code of choice.

    with SmtpSink() as sink:                      # listening on sink.port
        sink.refuse_recipient("a@x", "550 5.1.1 No such mailbox")
        sink.answer_data_with("421 4.3.2 Shutting down")   # the next message(s)

A closed port (`closed_port()`) is a mail server that refuses connections; a
`SilentServer` accepts them and never answers.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


def closed_port() -> int:
    """A port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class SmtpSink:
    def __init__(self, port: int | None = None):
        self.port = port or closed_port()
        self.received: list[Received] = []
        self.data_attempts: list[Received] = []  # every DATA, accepted or not
        self.rcpt_attempts: list[str] = []
        self._refused: dict[str, str] = {}
        self._data_answers: list[str] = []
        self.on_data: Callable[[Received], None] | None = None
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    # --- what it should answer --------------------------------------------------------

    def refuse_recipient(self, address: str, answer: str = "550 5.1.1 Mailbox unavailable"):
        with self._lock:
            self._refused[address] = answer

    def accept_recipient(self, address: str):
        with self._lock:
            self._refused.pop(address, None)

    def answer_data_with(self, *answers: str):
        """The next messages are answered with these, in turn, instead of 250."""
        with self._lock:
            self._data_answers.extend(answers)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    # --- aiosmtpd handler hooks -------------------------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            self.rcpt_attempts.append(address)
            refused = self._refused.get(address)
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received = Received(
            sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos),
            message=message_from_bytes(envelope.original_content or envelope.content),
        )
        with self._lock:
            self.data_attempts.append(received)
            answer = self._data_answers.pop(0) if self._data_answers else None
            if answer is None or answer.startswith("2"):
                self.received.append(received)
        if self.on_data is not None:
            self.on_data(received)
        return answer or "250 Message accepted for delivery"

    # --- running ------------------------------------------------------------------------

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()


class SilentServer:
    """Listens and never answers: the kernel completes the connection, the server never
    greets. What a hung mail server looks like to a client."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc) -> None:
        self._sock.close()
