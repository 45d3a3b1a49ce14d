"""A TCP relay in front of a CUPS server that can fall silent, as a wedged host does.

``silent``: connections are accepted and read, and nothing is ever answered (a
powered but hung host, or a firewall that swallows packets after the handshake).
``forward``: bytes pass both ways.  ``stall_after``: bytes pass until the client
has sent that many on a connection, then nothing more moves (a host that hangs
in the middle of receiving a document).  Switching mode closes the connections
held so far, as a host that comes back has forgotten them.
"""

from __future__ import annotations

import socket
import threading


class FaultRelay:
    def __init__(self, target_port: int, mode: str = "forward", stall_after: int = 0) -> None:
        self.target_port = target_port
        self.mode, self.stall_after = mode, stall_after
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._held: list[socket.socket] = []
        self.captured = bytearray()  # every byte clients sent, to see what crossed in clear
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_mode(self, mode: str, stall_after: int = 0) -> None:
        with self._lock:
            self.mode, self.stall_after = mode, stall_after
            held, self._held = self._held, []
        for sock in held:
            sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(client)
                mode, stall_after = self.mode, self.stall_after
            if mode != "silent":
                threading.Thread(
                    target=self._relay, args=(client, stall_after), daemon=True
                ).start()

    def _relay(self, client: socket.socket, stall_after: int) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._held.append(upstream)
        sent = [0]
        stalled = threading.Event()

        def pump(source: socket.socket, sink: socket.socket, counted: bool) -> None:
            try:
                while not self._stop.is_set():
                    data = source.recv(65536)
                    if not data:
                        break
                    if counted and stall_after:
                        room = stall_after - sent[0]
                        sent[0] += len(data)
                        if room <= len(data):
                            sink.sendall(data[: max(0, room)])
                            stalled.set()
                            return
                    if stalled.is_set():
                        return
                    if counted:
                        self.captured += data
                    sink.sendall(data)
            except OSError:
                return

        threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()
        pump(client, upstream, True)
        if not stalled.is_set():  # the client hung up: so does the relay
            for sock in (client, upstream):
                sock.close()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        self.set_mode("silent")
        self._thread.join(2)
