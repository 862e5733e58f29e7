"""Entry point: ``python -m server`` runs the gRPC server until SIGTERM or Ctrl-C; SIGHUP
reloads CUSTOM_METRICS_FILE."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from server.app import create_server
from server.config import ConfigError, Settings


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if settings.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        service = create_server(settings)
    except ConfigError as error:
        print(f"start-up error: {error}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("server").info("%s received: draining", signal.Signals(signum).name)
        stop.set()

    reload = threading.Event()

    def request_reload(signum: int, frame: FrameType | None) -> None:
        reload.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, request_reload)
    service.start()
    # A timed wait: an untimed Event.wait() blocks in C and the handler would only run (and set
    # the event) once something else woke the main thread.
    while not stop.wait(1.0 if not reload.is_set() else 0):
        if reload.is_set():
            reload.clear()
            # A bad file keeps the definitions in force (the log says why); after a good one no
            # cached answer of the old definitions is served again.
            cache = service.cache
            settings.custom_metrics.reload(cache.clear if cache is not None else None)
    service.stop(settings.shutdown_grace_s)
    logging.getLogger("server").info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
