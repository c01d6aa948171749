"""Talking to arXiv: one polite gate for the whole process, one connection, classified retries.

Exceptions raised to the stage:

    ArxivUnreachable   the very first request of a session could not connect at all
    RequestFailed      no usable answer after the retry budget, or an answer refused outright
      IdFormatRejected   HTTP 400 "incorrect id format": never retried as is (the caller
                         splits the batch to find the bad ID)
      PostRefused        arXiv refused a POST (405/413/414) and the request is too long for
                         a GET: the caller splits it (later requests of the session use GET)
      FetchStopped       the run's FetchBudget is spent (throttled too often in a row, or
                         past its deadline): nothing more is sent, the rest waits for the
                         next run

Inside, `atom.BadAnswer` classifies each failed try as retryable or not.
"""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception

from pipeline.config import Settings
from pipeline.fetch.atom import MAX_ANSWER_BYTES, BadAnswer, Feed, read_feed
from pipeline.store import save_response, utc_now

# The witness of last resort for the second look, when no paper is stored yet: "Attention Is
# All You Need", one of arXiv's most asked-for papers (any existing paper would do).
DEFAULT_WITNESS = "1706.03762"

# docs/arxiv.md §2: ~700 IDs over GET gave HTTP 414 while POST worked; stay well below.
MAX_GET_URL_CHARS = 2000
# docs/arxiv.md §2: POST was refused for ten days in 2025; the fallback GETs must fit
# gunicorn's default request line of 4094 bytes (method, URL and protocol included).
MAX_FALLBACK_GET_CHARS = 4000
POST_REFUSED_STATUS = frozenset({405, 413, 414})
# docs/arxiv.md §5: a 429 "Rate exceeded." without Retry-After can take two minutes to
# arrive and last hours. After this many throttled or timed-out tries in a row (across
# requests) the run stops asking instead of walking every batch through its retries.
THROTTLED_TRIES_TO_STOP = 4
# The Content-Encodings undone while the body streams in (zlib's wbits for each).
_ENCODING_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}
# The first request of a session only gets a short connection check (two tries of at most
# 1.5 s, 0.5 s apart), so a machine without network learns it in seconds, not after the
# whole retry budget.
PROBE_CONNECT_TIMEOUT = 1.5
PROBE_TRIES = 2
PROBE_PAUSE = 0.5
# Backoff base in multiples of the request delay. docs/arxiv.md §1: after a 429, 503 or
# "Rate exceeded." back off for minutes, not seconds (3 s x 10 x 2^n, capped).
BACKOFF_DELAYS = 2.0
THROTTLED_BACKOFF_DELAYS = 10.0
# Status codes worth asking again (docs/arxiv.md §5: 503 and 429 under load).
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
THROTTLE_STATUS = frozenset({429, 503})
INCORRECT_ID_FORMAT = "incorrect id format"  # docs/arxiv.md §3: the 400 error entry
# A paper that exists, asked for beside requests whose empty answer would otherwise settle
# something (IDs checked again, title searches): an answer without it is one of arXiv's
# empty pages (docs/arxiv.md §5). "Attention Is All You Need", one of arXiv's most
# asked-for papers; any existing paper would do.
DEFAULT_WITNESS = "1706.03762"


class ArxivUnreachable(Exception):
    """arXiv could not be reached at all (no DNS, connection refused, connect timeout);
    `requests` were tried (`retries` of them retries) before giving up."""

    def __init__(self, message: str, requests: int = 0, retries: int = 0) -> None:
        super().__init__(message)
        self.requests = requests
        self.retries = retries


class RequestFailed(Exception):
    """No usable answer for one request; `attempts` requests were sent for it."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class IdFormatRejected(RequestFailed):
    """arXiv refused the ID list as malformed (HTTP 400); one bad ID fails the whole batch."""


class PostRefused(RequestFailed):
    """arXiv refused a POST and the request is too long for a GET: split it."""


class FetchStopped(RequestFailed):
    """The run's FetchBudget is spent; nothing more is sent this run."""


# The default fetch deadline: a fixed allowance, plus per expected request two whole tries
# (connect, read timeout, delay), so a run that meets a hung server ends in bounded time.
DEADLINE_ALLOWANCE_SECONDS = 120.0
DEADLINE_TRIES_PER_REQUEST = 2


def fetch_deadline(settings: Settings, expected_requests: int) -> float:
    """The run's fetch deadline in seconds: the configured one, else sized for the work."""
    if settings.fetch_deadline_seconds > 0:
        return settings.fetch_deadline_seconds
    per_try = settings.connect_timeout + settings.read_timeout + settings.delay_seconds
    return DEADLINE_ALLOWANCE_SECONDS + expected_requests * DEADLINE_TRIES_PER_REQUEST * per_try


class FetchBudget:
    """What one run may still spend on arXiv, shared by its sessions: an overall deadline
    (issue 12: a server that accepts and never answers) and a circuit breaker for throttling
    (THROTTLED_TRIES_TO_STOP). Once spent, `stopped` says why, and every later request of
    the run fails at once without being sent."""

    def __init__(self, deadline_seconds: float | None = None) -> None:
        self._deadline = None if deadline_seconds is None else time.monotonic() + deadline_seconds
        self._deadline_seconds = deadline_seconds
        self._throttled_in_a_row = 0
        self.stopped: str | None = None

    def allow(self, seconds: float, *, extend: bool) -> None:
        """Set the deadline `seconds` from now if none is set; with `extend`, a deadline
        already set moves `seconds` later (the next part of a run brings more work)."""
        if self._deadline is None or self._deadline_seconds is None:
            self._deadline = time.monotonic() + seconds
            self._deadline_seconds = seconds
        elif extend:
            self._deadline += seconds
            self._deadline_seconds += seconds

    def check(self, waiting: float = 0.0) -> None:
        """Raise FetchStopped if spent, or if `waiting` more seconds would pass the deadline."""
        late = self._deadline is not None and time.monotonic() + waiting > self._deadline
        if self.stopped is None and late:
            self.stopped = (
                f"the run's fetch deadline of {self._deadline_seconds:g} s has passed "
                "(fetch_deadline_seconds); what is not fetched waits for the next run"
            )
        if self.stopped is not None:
            raise FetchStopped(self.stopped, 0)

    def throttled(self, reason: str) -> None:
        self._throttled_in_a_row += 1
        if self._throttled_in_a_row >= THROTTLED_TRIES_TO_STOP and self.stopped is None:
            self.stopped = (
                f"arXiv throttled or did not answer {self._throttled_in_a_row} tries in a row "
                f"(last: {reason}); stopped asking, what is not fetched waits for the next run"
            )

    def answered(self) -> None:
        self._throttled_in_a_row = 0


def _user_agent(contact: str) -> str:
    # docs/arxiv.md §1: generic UAs are reportedly throttled harder; a descriptive one
    # with a contact address helps.
    try:
        ours = version("digest-enrich")
    except PackageNotFoundError:
        ours = "0.1"
    return f"digest-enrich/{ours}" + (f" (+mailto:{contact})" if contact else "")


class PolitenessGate:
    """One request at a time, at least `delay` apart, across every thread of the process.

    docs/arxiv.md §1: one request every 3 s over one connection, counted across everything
    we run. The lock is held for the whole exchange, so never two requests are in flight.
    The delay is counted from the end of the previous exchange: arXiv received that request
    before it answered, so its arrivals are at least `delay` apart whatever the latency
    (counting from our start would let a slow-to-arrive request and a quick one land closer).
    A backoff pauses the gate itself, so a 429 slows down every caller, not just its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held for a whole exchange
        self._pause_lock = threading.Lock()  # guards _not_before only
        self._last_end: float | None = None
        self._not_before = 0.0

    def pause(self, seconds: float) -> None:
        """Let no request start in the next `seconds` (tenacity's sleep: the gate waits)."""
        with self._pause_lock:
            self._not_before = max(self._not_before, time.monotonic() + seconds)

    def _earliest_start(self, delay: float) -> float:
        if self._last_end is None:
            return self._not_before
        return max(self._not_before, self._last_end + delay)

    @contextmanager
    def turn(self, delay: float) -> Iterator[Turn]:
        """Hold the gate for one exchange, starting no earlier than the rules allow."""
        with self._lock:
            while (wait := self._earliest_start(delay) - time.monotonic()) > 0:
                time.sleep(wait)
            turn = Turn()
            try:
                yield turn
            finally:
                if turn.reached_server:
                    self._last_end = time.monotonic()


@dataclass
class Turn:
    """One exchange through the gate. A connection that was never made sent nothing, so
    it does not count for the spacing (this keeps the unreachable check short)."""

    reached_server: bool = True


GATE = PolitenessGate()


@dataclass(frozen=True)
class Answer:
    """A usable answer: the parsed feed, where it was stored, and when it arrived."""

    feed: Feed
    stored_as: Path
    received_at: datetime
    attempts: int


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - utc_now()).total_seconds())


def polite_client(settings: Settings) -> httpx.Client:
    """The HTTP client of every arXiv conversation (query API and OAI-PMH): one connection,
    the configured timeouts, our User-Agent, no redirects."""
    return httpx.Client(
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        ),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        # Only the codings _CappedDecoder undoes (httpx would offer br and zstd too when
        # their packages are installed).
        headers={"User-Agent": _user_agent(settings.contact), "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,  # a redirect would be a second request past the gate
    )


class ArxivSession:
    """One caller's conversation with arXiv: a client with one connection, counters, retries.

    Use as a context manager. `requests` counts requests sent, `retries` those that repeated
    an earlier one after a failed try. `budget` is the run's (a session of its own when
    None); `post_refused` is set once arXiv refused a POST, so that later requests use GET.
    """

    def __init__(self, settings: Settings, budget: FetchBudget | None = None) -> None:
        self.settings = settings
        self.budget = budget or FetchBudget()
        self.requests = 0
        self.retries = 0
        self.post_refused = False
        self._connected = False  # set once any answer (or a non-connect error) came back
        self._probe_failures = 0
        self._client = polite_client(settings)

    def __enter__(self) -> ArxivSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._client.close()

    # -- one request, with retries ---------------------------------------------------

    def query(self, params: dict[str, str], kind: str, *, empty_page_retries: int) -> Answer:
        """Ask arXiv once (retrying failed tries) and return the first usable answer.

        An answer with no entries is asked again up to `empty_page_retries` times (within
        the attempt budget) and then believed: arXiv sometimes serves an empty page for a
        query that has results (docs/arxiv.md §5).
        """
        query_string = urlencode(params)
        attempts = 0
        empty_pages = 0

        def attempt() -> Answer:
            nonlocal attempts, empty_pages
            self.budget.check()
            attempts += 1
            if attempts > 1:
                self.retries += 1
            try:
                answer = self._exchange(query_string, kind, attempts)
            except BadAnswer as exc:
                if exc.throttled:
                    self.budget.throttled(exc.reason)
                raise
            self.budget.answered()
            if answer.feed.error is not None:
                reason = f"arXiv error: {answer.feed.error}"
                if INCORRECT_ID_FORMAT in answer.feed.error.lower():
                    raise IdFormatRejected(reason, attempts)
                raise RequestFailed(reason, attempts)
            if (
                not answer.feed.entries
                and empty_pages < empty_page_retries
                and attempts < self.settings.max_attempts
            ):
                empty_pages += 1
                raise BadAnswer("an empty page", retryable=True)
            return answer  # an empty page asked often enough is taken at its word

        retrying = Retrying(
            stop=self._should_stop,
            wait=self._backoff,
            retry=retry_if_exception(lambda e: isinstance(e, BadAnswer) and e.retryable),
            sleep=GATE.pause,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except BadAnswer as exc:
            tries = f"after {attempts} tries" if attempts > 1 else "on the only try"
            if exc.post_refused:
                raise PostRefused(f"{exc.reason} ({tries})", attempts) from exc
            raise RequestFailed(f"{exc.reason} ({tries})", attempts) from exc
        except FetchStopped as exc:
            raise FetchStopped(exc.reason, attempts) from exc

    def _should_stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.settings.max_attempts or self.budget.stopped:
            return True
        exc = state.outcome.exception() if state.outcome else None
        # A server asking for a longer pause than we are willing to wait: give up now
        # rather than ask again too early.
        return (
            isinstance(exc, BadAnswer)
            and exc.retry_after is not None
            and exc.retry_after > self.settings.max_backoff_seconds
        )

    def _backoff(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, scaled by the delay; Retry-After wins if longer."""
        if not self._connected:
            return PROBE_PAUSE
        exc = state.outcome.exception() if state.outcome else None
        throttled = isinstance(exc, BadAnswer) and exc.throttled
        base = self.settings.delay_seconds * (
            THROTTLED_BACKOFF_DELAYS if throttled else BACKOFF_DELAYS
        )
        wait = base * 2 ** (state.attempt_number - 1) * random.uniform(1.0, 1.5)
        if isinstance(exc, BadAnswer) and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        wait = min(wait, self.settings.max_backoff_seconds)
        self.budget.check(waiting=wait)  # a wait past the deadline: stop now instead
        return wait

    # -- one try -----------------------------------------------------------------------

    def _exchange(self, query_string: str, kind: str, attempt: int) -> Answer:
        """Send one request through the gate and judge the answer (raises BadAnswer)."""
        url = f"{self.settings.api_url}?{query_string}"
        post = len(url) > MAX_GET_URL_CHARS
        if post and self.post_refused:
            if len(url) > MAX_FALLBACK_GET_CHARS:
                raise BadAnswer(
                    f"arXiv refuses POST and a GET of {len(url)} characters is too long",
                    retryable=False,
                    post_refused=True,
                )
            post = False
        timeout = self._client.timeout
        if not self._connected:  # the short connection check (see ArxivUnreachable)
            timeout = httpx.Timeout(
                connect=min(self.settings.connect_timeout, PROBE_CONNECT_TIMEOUT),
                read=timeout.read,
                write=timeout.write,
                pool=timeout.pool,
            )
        request = self._client.build_request(
            "POST" if post else "GET",
            self.settings.api_url if post else url,
            content=query_string.encode() if post else None,
            headers={"Content-Type": "application/x-www-form-urlencoded"} if post else None,
            timeout=timeout,
        )
        self.requests += 1
        with GATE.turn(self.settings.delay_seconds) as turn:
            try:
                response = self._client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                turn.reached_server = False
                self._connection_failed(exc, attempt)
                raise BadAnswer(
                    f"cannot connect ({exc or type(exc).__name__})", retryable=True
                ) from exc
            except httpx.UnsupportedProtocol as exc:
                turn.reached_server = False
                raise ArxivUnreachable(f"cannot use {self.settings.api_url}: {exc}") from exc
            except httpx.TimeoutException as exc:
                # docs/arxiv.md §5: a slow 429 arrives after the read timeout.
                self._connected = True
                raise BadAnswer(
                    f"no answer within {self.settings.read_timeout:g} s",
                    retryable=True,
                    throttled=True,
                ) from exc
            except httpx.TransportError as exc:
                self._connected = True
                raise BadAnswer(f"connection broken ({exc})", retryable=True) from exc
            self._connected = True
            try:
                body = self._read_capped(response)
            finally:
                response.close()
        received_at = utc_now()
        if post and response.status_code in POST_REFUSED_STATUS:
            # docs/arxiv.md §2: split and ask by GET from now on.
            self.post_refused = True
            raise BadAnswer(
                f"arXiv refused a POST with HTTP {response.status_code}",
                retryable=len(url) <= MAX_FALLBACK_GET_CHARS,
                post_refused=len(url) > MAX_FALLBACK_GET_CHARS,
            )
        feed = self._judge(response, body)
        stored_as = save_response(self.settings.paths, kind, query_string, body)
        return Answer(feed=feed, stored_as=stored_as, received_at=received_at, attempts=attempt)

    def _connection_failed(self, exc: Exception, attempt: int) -> None:
        if self._connected:
            return  # it worked before: an ordinary, retryable failure
        self._probe_failures += 1
        if self._probe_failures >= PROBE_TRIES or attempt >= self.settings.max_attempts:
            raise ArxivUnreachable(
                f"arXiv unreachable at {self.settings.api_url}: "
                f"{exc or type(exc).__name__} ({self._probe_failures} tries)",
                requests=self.requests,
                retries=self.retries,
            ) from exc

    def _read_capped(self, response: httpx.Response) -> bytes:
        """Read the body, refusing it once it passes the cap or the time budget.

        The Content-Encoding is undone here, chunk by chunk, so that the cap counts decoded
        bytes as they come (httpx's own decoding inflates a whole chunk at once: a doubly
        gzipped 2 KB body becomes gigabytes before any check), and a corrupt body is a bad
        answer like any other.
        """
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            raise BadAnswer(
                f"refused: answer of {declared} bytes exceeds the {MAX_ANSWER_BYTES}-byte cap",
                retryable=False,
            )
        decoder = _CappedDecoder(response.headers.get("Content-Encoding", ""), MAX_ANSWER_BYTES)
        # The read timeout bounds each read; this bounds a body that trickles in slowly.
        deadline = time.monotonic() + self.settings.read_timeout + self.settings.connect_timeout
        try:
            for chunk in response.iter_raw():
                decoder.feed(chunk)
                if time.monotonic() > deadline:
                    raise BadAnswer("the answer trickled in too slowly", retryable=True)
            return decoder.finish()
        except httpx.TimeoutException as exc:
            raise BadAnswer(
                f"answer stalled for {self.settings.read_timeout:g} s", retryable=True
            ) from exc
        except httpx.DecodingError as exc:  # belt and braces: httpx decodes nothing here
            raise BadAnswer(f"an undecodable body ({exc})", retryable=True) from exc
        except httpx.TransportError as exc:
            raise BadAnswer(f"connection broken mid-answer ({exc})", retryable=True) from exc

    def _judge(self, response: httpx.Response, body: bytes) -> Feed:
        status = response.status_code
        content_type = response.headers.get("Content-Type")
        if status == 200 or status == 400:
            # A 400 carries an Atom error feed (docs/arxiv.md §3); a 200 may still be
            # "Rate exceeded." or HTML (docs/arxiv.md §5): read_feed tells them apart.
            try:
                feed = read_feed(body, content_type)
            except BadAnswer as exc:
                if status == 400:
                    raise BadAnswer(f"HTTP 400 with {exc.reason}", retryable=False) from exc
                raise
            if status == 400 and feed.error is None:
                raise BadAnswer("HTTP 400 without an error entry", retryable=False)
            return feed
        shown = body[:80].decode("utf-8", "replace").strip()
        detail = f"HTTP {status}" + (f": {shown!r}" if shown and len(shown) < 80 else "")
        if status in RETRYABLE_STATUS:
            raise BadAnswer(
                detail,
                retryable=True,
                throttled=status in THROTTLE_STATUS,
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            detail += f" to {response.headers.get('Location', '?')} (set ARXIV_API_URL to it)"
        raise BadAnswer(detail, retryable=False)


class _CappedDecoder:
    """Undoes a Content-Encoding (gzip/deflate layers, in any number) as the body streams in,
    never holding more than `cap` decoded bytes: past it, the answer is refused."""

    def __init__(self, header: str, cap: int) -> None:
        self.cap = cap
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        unknown = [c for c in codings if c not in _ENCODING_WBITS]
        if unknown:
            raise BadAnswer(
                f"an answer in an unknown Content-Encoding {unknown[0]!r}", retryable=False
            )
        # The last coding applied is the first to undo.
        self.layers = [zlib.decompressobj(_ENCODING_WBITS[c]) for c in reversed(codings)]
        self.body = bytearray()

    def feed(self, data: bytes) -> None:
        for layer in self.layers:
            data = self._inflate(layer, data)
        self._keep(data)

    def finish(self) -> bytes:
        data = b""
        for layer in self.layers:
            data = self._inflate(layer, data) + self._flush(layer)
        self._keep(data)
        if any(not layer.eof for layer in self.layers):
            raise BadAnswer("a compressed body that ends early", retryable=True)
        return bytes(self.body)

    def _inflate(self, layer: zlib._Decompress, data: bytes) -> bytes:
        try:
            # At most one byte past the cap: enough to know the cap is passed.
            out = layer.decompress(data, self.cap + 1)
        except zlib.error as exc:
            raise BadAnswer(f"a corrupt compressed body ({exc})", retryable=True) from exc
        if layer.unconsumed_tail or len(out) > self.cap:
            self._refuse()
        return out

    def _flush(self, layer: zlib._Decompress) -> bytes:
        try:
            return layer.flush()
        except zlib.error as exc:
            raise BadAnswer(f"a corrupt compressed body ({exc})", retryable=True) from exc

    def _keep(self, data: bytes) -> None:
        self.body += data
        if len(self.body) > self.cap:
            self._refuse()

    def _refuse(self) -> None:
        raise BadAnswer(
            f"refused: answer exceeds the {self.cap}-byte cap once decoded", retryable=False
        )
