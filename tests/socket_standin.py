"""A local stand-in for Slack's Socket Mode, for tests.

Slack's side of Socket Mode is two things: the Web API method `apps.connections.open`
(answered by tests/slack_standin.py with the URL set here) and a WebSocket server at that
URL. This is the WebSocket server, on 127.0.0.1:<free port>, written on the standard
library (RFC 6455: the upgrade handshake, masked client frames, ping/pong, close). Like
Slack it sends `{"type": "hello"}` on every new connection, then whatever envelopes a
test sends (`slash_commands`, `interactive`, `events_api`, each with an `envelope_id`),
and records each acknowledgement with the time it took.

    socket = SocketModeStandIn().start()
    slack.socket_url = socket.url          # what apps.connections.open hands out
    ...
    envelope_id = socket.send("slash_commands", {"command": "/claim", ...})
    ack = socket.wait_ack(envelope_id, within=3.0)   # Slack's limit
    socket.drop()        # the connection dies (close() / refresh(): Slack ends it)
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


@dataclass
class Ack:
    envelope_id: str
    seconds: float  # from sending the envelope to receiving its ack
    payload: Any  # what the app put in the ack (e.g. a slash command's reply), or None


class _Connection:
    def __init__(self, sock: socket.socket, owner: SocketModeStandIn) -> None:
        self.sock, self.owner = sock, owner
        self.send_lock = threading.Lock()
        self.open = True

    def send_frame(self, opcode: int, data: bytes) -> None:
        head = bytes([0x80 | opcode])
        n = len(data)
        if n < 126:
            head += bytes([n])
        elif n < 1 << 16:
            head += bytes([126]) + struct.pack(">H", n)
        else:
            head += bytes([127]) + struct.pack(">Q", n)
        with self.send_lock:
            self.sock.sendall(head + data)  # server frames are not masked

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(OP_TEXT, json.dumps(message).encode())

    def read_frames(self) -> None:
        try:
            while self.open:
                opcode, data = self._read_frame()
                if opcode == OP_PING:
                    self.send_frame(OP_PONG, data)
                elif opcode == OP_CLOSE:
                    self.send_frame(OP_CLOSE, data[:2])
                    break
                elif opcode == OP_TEXT:
                    self.owner._received(json.loads(data.decode()))
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            self.close()

    def _read_frame(self) -> tuple[int, bytes]:
        first, second = self._exactly(2)
        n = second & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._exactly(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._exactly(8))[0]
        mask = self._exactly(4) if second & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._exactly(n)))
        return first & 0x0F, data

    def _exactly(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed")
            out += chunk
        return out

    def close(self) -> None:
        self.open = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class SocketModeStandIn:
    """Slack's Socket Mode WebSocket server on 127.0.0.1; see the module docstring."""

    def __init__(self) -> None:
        self.connections: list[_Connection] = []  # every one accepted, oldest first
        self.acks: dict[str, Ack] = {}
        self.received: list[dict[str, Any]] = []  # every message from the app
        self._sent_at: dict[str, float] = {}
        self._seq = itertools.count(1)
        self._lock = threading.Condition()
        self._listener: socket.socket | None = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> SocketModeStandIn:
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, name="socket-mode-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for conn in list(self.connections):
            conn.close()

    @property
    def url(self) -> str:
        """The ws:// URL for apps.connections.open to hand out."""
        assert self._listener is not None, "start() the stand-in first"
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=standin"

    # --- what a test does ------------------------------------------------------------
    @property
    def live(self) -> _Connection | None:
        with self._lock:
            return next((c for c in reversed(self.connections) if c.open), None)

    def wait_connected(self, count: int = 1, timeout: float = 15.0) -> _Connection:
        """Wait until `count` connections have been made (the newest is open)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.connections) < count or not self.connections[-1].open:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no connection #{count} within {timeout} s")
                self._lock.wait(left)
            return self.connections[-1]

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response: bool = False
             ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`) on the live
        connection, as Slack does; returns its envelope_id."""
        conn = self.live
        assert conn is not None, "no live connection"
        envelope_id = f"env-{next(self._seq)}-{time.monotonic_ns()}"
        message = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                   "accepts_response_payload": accepts_response, "retry_attempt": 0,
                   "retry_reason": ""}
        with self._lock:
            self._sent_at[envelope_id] = time.monotonic()
        conn.send_json(message)
        return envelope_id

    def wait_ack(self, envelope_id: str, within: float = 3.0) -> Ack:
        """The ack of `envelope_id`; fails if it does not come within `within` seconds
        of sending (Slack's limit is 3 s)."""
        with self._lock:
            deadline = self._sent_at[envelope_id] + within
            while envelope_id not in self.acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope_id} not acknowledged within "
                                         f"{within} s")
                self._lock.wait(left)
            return self.acks[envelope_id]

    def drop(self) -> None:
        """Kill the live connection without a goodbye, as a network failure would: the
        client only notices when its pings go unanswered."""
        conn = self.live
        assert conn is not None, "no live connection"
        conn.close()

    def close(self, code: int = 1001) -> None:
        """End the live connection with a WebSocket close frame, as Slack does when it
        terminates a connection."""
        conn = self.live
        assert conn is not None, "no live connection"
        conn.send_frame(OP_CLOSE, struct.pack(">H", code))
        conn.close()

    def refresh(self) -> None:
        """Ask the client to move to a new connection (`{"type": "disconnect"}`), as Slack
        does before it refreshes one."""
        conn = self.live
        assert conn is not None, "no live connection"
        conn.send_json({"type": "disconnect", "reason": "refresh_requested",
                        "debug_info": {"host": "standin"}})

    # --- server side -----------------------------------------------------------------
    def _accept(self) -> None:
        while self._listener is not None:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                sock.close()
                return
            request += chunk
        headers = dict(line.split(": ", 1) for line in
                       request.decode("latin-1").split("\r\n")[1:] if ": " in line)
        key = next(v for k, v in headers.items() if k.lower() == "sec-websocket-key")
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                      ).encode())
        conn = _Connection(sock, self)
        with self._lock:
            self.connections.append(conn)
            self._lock.notify_all()
        conn.send_json({"type": "hello", "num_connections": 1,
                        "debug_info": {"host": "standin", "approximate_connection_time": 3600},
                        "connection_info": {"app_id": "AEARSHOT"}})
        conn.read_frames()
        with self._lock:
            self._lock.notify_all()

    def _received(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.received.append(message)
            envelope_id = message.get("envelope_id")
            if envelope_id in self._sent_at and envelope_id not in self.acks:
                self.acks[envelope_id] = Ack(envelope_id,
                                             time.monotonic() - self._sent_at[envelope_id],
                                             message.get("payload"))
            self._lock.notify_all()
