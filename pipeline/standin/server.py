"""`StandIn`: a real HTTP server on 127.0.0.1 that answers like `export.arxiv.org/api/query`
and, at `/oai`, like arXiv's OAI-PMH service (pipeline.standin.oai).

One daemon thread runs the accept loop; each connection gets its own daemon thread
(ThreadingHTTPServer), so concurrent requests really overlap and `in_flight` in the log is
meaningful. `stop()` shuts every open connection, which also ends hung answers, so it
returns promptly whatever the clients are doing.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from pipeline.standin.corpus import CorpusRecord
from pipeline.standin.faults import Fault, FaultSchedule
from pipeline.standin.feed import DIALECTS, Dialect
from pipeline.standin.oai import DEFAULT_PAGE_SIZE, answer_oai
from pipeline.standin.query import Answer, Catalog, answer_query, requested_ids

API_PATH = "/api/query"
OAI_PATH = "/oai"
# docs/arxiv.md §2: ~700 IDs over GET gave HTTP 414; docs/arxiv.md §2: gunicorn's
# default request line is 4094 bytes ("GET ", the target and " HTTP/1.1" included).
MAX_URL_LENGTH = 4094 - len("GET  HTTP/1.1")
RATE_EXCEEDED = b"Rate exceeded."  # docs/arxiv.md §5: throttled replies, text/plain
TEXT_PLAIN = "text/plain; charset=utf-8"
TEXT_HTML = "text/html; charset=utf-8"
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>arXiv</title></head>"
    b"<body><h1>Access denied</h1><p>This page is not an Atom feed.</p></body></html>\n"
)
STOP_POLL_SECONDS = 0.02  # how often a hung answer checks for stop() or a closed client


@dataclass(slots=True)
class LoggedRequest:
    """One request as the stand-in saw it: logged on arrival, fault once chosen, then status."""

    at: float  # time.monotonic() on arrival
    since_previous: float | None  # seconds since the previous request arrived (None: first)
    in_flight: int  # requests being handled when this one arrived, itself included
    method: str
    params: dict[str, str]
    ids: list[str]  # id_list as requested
    status: int  # HTTP status served; 0 while unanswered and for hang/reset
    fault: str | None  # kind of the injected fault, None for a normal answer


class StandIn:
    """The local arXiv API. Use as a context manager, or call `start()` and `stop()`."""

    def __init__(
        self,
        records: Iterable[CorpusRecord] = (),
        *,
        dialect: Dialect = "new",
        faults: Sequence[Fault] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        oai_page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}, got {dialect!r}")
        self.dialect: Dialect = dialect
        self.oai_page_size = oai_page_size
        self._catalog = Catalog(records)
        self._faults = FaultSchedule(faults)
        self._address = (host, port)
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self._in_flight = 0
        self._last_arrival: float | None = None
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> StandIn:
        if self._server is not None:
            raise RuntimeError("stand-in already started")
        self._stopping.clear()
        self._server = _Server(self._address, _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": STOP_POLL_SECONDS},
            name=f"standin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            _shut(connection)
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests and the CLI use -------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("stand-in not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PATH}"

    @property
    def oai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{OAI_PATH}"

    @property
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    @property
    def in_flight(self) -> int:
        """Requests being handled right now (hung ones included)."""
        with self._lock:
            return self._in_flight

    @property
    def records(self) -> list[CorpusRecord]:
        return self._catalog.records()

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self._last_arrival = None

    def set_faults(self, faults: Sequence[Fault]) -> None:
        """Replace the active faults; their request counts start from zero."""
        self._faults.replace(faults)

    def add_records(self, records: Iterable[CorpusRecord]) -> None:
        """Serve more papers (a known ID is replaced), also while running."""
        self._catalog.add(records)

    def set_index_lag(self, seconds: float) -> None:
        """Serve no paper whose v1 is younger than `seconds` (docs/arxiv.md §3: the API
        sees new papers from the midnight after their announcement)."""
        self._catalog.index_lag = timedelta(seconds=seconds)

    # --- request handling (called on the connection's thread) ------------------------------

    def _arrive(self, method: str, params: dict[str, str]) -> LoggedRequest:
        with self._lock:
            now = time.monotonic()
            since = None if self._last_arrival is None else now - self._last_arrival
            self._last_arrival = now
            self._in_flight += 1
            entry = LoggedRequest(
                at=now,
                since_previous=since,
                in_flight=self._in_flight,
                method=method,
                params=params,
                ids=requested_ids(params),
                status=0,
                fault=None,
            )
            self._log.append(entry)
            return entry

    def _choose_fault(self, entry: LoggedRequest) -> Fault | None:
        fault = self._faults.pick(has_ids=bool(entry.ids))
        with self._lock:
            entry.fault = fault.kind if fault else None
        return fault

    def _leave(self, entry: LoggedRequest, status: int) -> None:
        with self._lock:
            self._in_flight -= 1
            entry.status = status

    def _handle(
        self, handler: _Handler, method: str, params: dict[str, str], path: str = API_PATH
    ) -> None:
        entry = self._arrive(method, params)
        fault: Fault | None = None
        reply: tuple[Answer, dict[str, str]] | None = None
        try:
            if method == "GET" and len(handler.path) > MAX_URL_LENGTH:
                reply = (Answer(414, b"414 Request-URI Too Large\n", TEXT_PLAIN), {})
            else:
                fault = self._choose_fault(entry)
                if fault and fault.kind == "post_refused" and method != "POST":
                    fault = None  # a GET is answered
                if fault and fault.delay and self._stopping.wait(fault.delay):
                    pass  # stop() came during the delay: no answer
                elif fault and fault.kind == "hang":
                    handler.wait_for_close(self._stopping)
                elif not (fault and fault.kind == "reset"):
                    reply = self._answer(params, fault, path)
        finally:
            # Leave before writing, so a client that sends its next request as soon as it
            # has read this answer never sees this one still counted in flight.
            self._leave(entry, reply[0].status if reply else 0)
        if reply is not None:
            handler.reply(*reply)
        else:
            handler.drop(reset=bool(fault and fault.kind == "reset"))

    def _answer(
        self, params: dict[str, str], fault: Fault | None, path: str
    ) -> tuple[Answer, dict[str, str]]:
        kind = fault.kind if fault else None
        retry = {}
        if fault and fault.retry_after is not None:
            retry = {"Retry-After": f"{fault.retry_after:g}"}
        if kind == "503":
            page = b"<html><body><h1>503 Service Unavailable</h1></body></html>\n"
            return Answer(503, page, TEXT_HTML), retry
        if kind == "429":
            return Answer(429, RATE_EXCEEDED, TEXT_PLAIN), retry
        if kind == "rate_exceeded_200":
            return Answer(200, RATE_EXCEEDED, TEXT_PLAIN), {}
        if kind == "html":
            return Answer(200, HTML_PAGE, TEXT_HTML), {}
        if kind == "post_refused":
            return Answer(405, b"405 Method Not Allowed\n", TEXT_PLAIN), {"Allow": "GET"}
        if path == OAI_PATH:
            answer = answer_oai(self._catalog, params, self.oai_page_size, datetime.now(UTC))
        else:
            answer = answer_query(
                self._catalog, params, self.dialect, drop_results=kind == "empty_page"
            )
        if kind == "truncated" and answer.status == 200:
            answer = Answer(200, answer.body[: len(answer.body) // 2], answer.content_type)
        return answer, {}

    def _register(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _unregister(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], standin: StandIn) -> None:
        self.standin = standin
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gives up mid-answer, or stop() shutting its socket, is expected.
        error = sys.exc_info()[1]
        stopping = self.standin._stopping.is_set()
        if not (isinstance(error, ConnectionError) or (isinstance(error, OSError) and stopping)):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real front end allows
    # Headers and body are separate writes; with Nagle on, the body waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.standin._register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.standin._unregister(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the StandIn's own log records every request

    def do_GET(self) -> None:
        self._dispatch("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch("POST", self.rfile.read(length))

    def _dispatch(self, method: str, body: bytes) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        if path not in (API_PATH, OAI_PATH):
            self.reply(Answer(404, b"not found\n", TEXT_PLAIN), {})
            return
        # A POST sends the parameters form-encoded in the body (docs/arxiv.md §2); body values win.
        pairs = parse_qsl(url.query, keep_blank_values=True)
        pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        self.server.standin._handle(self, method, dict(pairs), path)

    def reply(self, answer: Answer, headers: dict[str, str]) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def drop(self, *, reset: bool) -> None:
        """End the connection without an answer; `reset` sends an RST (SO_LINGER 0)."""
        self.close_connection = True
        if reset:
            linger_off = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger_off)
            self.connection.close()

    def wait_for_close(self, stopping: threading.Event) -> None:
        """Hang: send nothing until the client hangs up or the server stops."""
        while not stopping.wait(STOP_POLL_SECONDS):
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return  # the client closed its end
                except OSError:
                    return
