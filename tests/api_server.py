"""The REST API served by uvicorn in a thread of the test process, on a free loopback port."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from api.app import served_app


@contextmanager
def serving_api() -> Iterator[str]:
    """Serve the API (DATABASE_URL as the test set it) until the block ends; yields its URL."""
    config = uvicorn.Config(served_app(), host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not started.wait(0.02):  # a condition, polled: uvicorn sets `started` once bound
        if server.started:
            started.set()
        elif not thread.is_alive():
            raise RuntimeError("the API server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
