"""A TCP relay on loopback that a test can cut and restore: to a server connecting through it,
its database stops answering and comes back (the database itself keeps running for the rest)."""

from __future__ import annotations

import contextlib
import socket
import threading

from psycopg.conninfo import conninfo_to_dict


class Relay:
    """Forwards connections to PostgreSQL at ``target`` (host and port; a host that is a folder
    is the Unix socket of an embedded PostgreSQL) from ``127.0.0.1:port``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self.restore()

    @classmethod
    def to(cls, dsn: str) -> Relay:
        """A relay to the PostgreSQL of ``dsn``."""
        parts = conninfo_to_dict(dsn)
        return cls((str(parts.get("host", "127.0.0.1")), int(str(parts.get("port", 5432)))))

    def _connect_target(self) -> socket.socket:
        host, port = self._target
        if host.startswith("/"):  # a Unix socket directory (embedded PostgreSQL)
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(f"{host}/.s.PGSQL.{port}")
            return upstream
        return socket.create_connection((host, port))

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = self._connect_target()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        assert self._listener is not None
        with contextlib.suppress(OSError):  # stops listening, wakes the accepting thread
            self._listener.shutdown(socket.SHUT_RDWR)  # (close alone does neither)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()
