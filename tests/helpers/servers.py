"""Loopback servers for tests: a real S3 (moto's server mode) and a scriptable OpenAI-protocol LLM."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class MotoS3Server:
    """`moto_server` on 127.0.0.1 in its own process; stop() always ends it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        moto = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_http(f"{self.endpoint_url}/moto-api/")
        except OSError:
            self.stop()
            raise

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class ScriptedReply:
    """One scripted answer: a status, a JSON body (or raw text), extra headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait this long before answering (a slow or hung teacher)


def chat_completion(content: str, model: str = "fake-teacher", prompt_tokens: int = 10) -> dict[str, Any]:
    """A chat.completions response body in OpenAI's shape."""
    return {
        "id": f"chatcmpl-{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": max(1, len(content.split())),
            "total_tokens": prompt_tokens + max(1, len(content.split())),
        },
    }


class BurstHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose accept backlog holds a burst of connections (Python's default
    of 5 refuses part of the bursts that concurrent tests and benches send)."""

    request_queue_size = 128


class FakeOpenAIServer:
    """A loopback HTTP server that speaks the OpenAI chat-completions protocol.

    Replies come from a script (`push`) in order, then from `default` (a function of the request
    body). Every request is recorded in `requests` for assertions.
    """

    def __init__(self) -> None:
        self.script: deque[ScriptedReply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.default = lambda request: ScriptedReply(body=chat_completion("ok", request.get("model", "fake")))
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(
                        ScriptedReply(
                            body={"object": "list", "data": [{"id": "fake-teacher", "object": "model"}]}
                        )
                    )
                else:
                    self._send(
                        ScriptedReply(
                            404, {"error": {"message": "not found", "type": "invalid_request_error"}}
                        )
                    )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                    reply = server.script.popleft() if server.script else server.default(body)
                self._send(reply)

            def _send(self, reply: ScriptedReply) -> None:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                payload = reply.body if isinstance(reply.body, (bytes, str)) else json.dumps(reply.body)
                data = payload.encode() if isinstance(payload, str) else payload
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = BurstHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def push(self, *replies: ScriptedReply) -> None:
        with self.lock:
            self.script.extend(replies)

    def reset(self) -> None:
        with self.lock:
            self.script.clear()
            self.requests.clear()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
