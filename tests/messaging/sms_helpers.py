"""A real HTTP server on 127.0.0.1 playing the SMS gateway: it records every request and
answers from a script (status and body, or hanging until released, or dropping the
connection); unscripted requests are accepted with ids gw-1, gw-2, …"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    hang: bool = False  # answer nothing until the server is released (a timeout)
    drop: bool = False  # close the connection without an answer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.server.gateway.handle(self)

    do_GET = do_POST

    def log_message(self, format, *args):  # keep the test output clean
        pass


class SmsGatewayServer:
    def __init__(self):
        self.requests: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._accepted = 0
        self.released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.gateway = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/sms/send"

    def start(self) -> SmsGatewayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()  # hanging handlers return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def answer(self, status: int = 200, body=b"", **kw) -> None:
        """Script the next answer; `body` may be a dict (sent as JSON) or bytes."""
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
        self._answers.append(Answer(status, body, **kw))

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        self.requests.append(
            Received(handler.command, handler.path, dict(handler.headers.items()), body)
        )
        with self._lock:
            answer = self._answers.popleft() if self._answers else None
            if answer is None:
                self._accepted += 1
                answer = Answer(200, json.dumps({"id": f"gw-{self._accepted}"}).encode())
        if answer.hang:
            self.released.wait(60)
            handler.close_connection = True
            return
        if answer.drop:
            handler.close_connection = True
            return
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.headers.pop("Content-Type", "application/json"))
        handler.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(answer.body)
