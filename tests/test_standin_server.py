"""The stand-in as a server: injected faults, the request log, stopping, and the CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from arxiv import _feed

from pipeline.standin import CorpusRecord, Fault, StandIn, parse_fault_spec

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "standin" / "corpus.jsonl"
ONE_PAPER = {"id_list": "1207.7214"}


def get(server: StandIn, timeout: float = 5.0, **params: str) -> httpx.Response:
    return httpx.get(server.url, params=params or ONE_PAPER, timeout=timeout)


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_503_first_n_with_retry_after(standin: StandIn) -> None:
    standin.set_faults([Fault("503", first_n=2, retry_after=1)])
    answers = [get(standin) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert [a.headers.get("Retry-After") for a in answers] == ["1", "1", None]
    assert [(e.status, e.fault) for e in standin.log] == [(503, "503"), (503, "503"), (200, None)]


def test_503_without_retry_after_every_nth(standin: StandIn) -> None:
    standin.set_faults([Fault("503", every_nth=2)])
    answers = [get(standin) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 503, 200, 503]
    assert "Retry-After" not in answers[1].headers


def test_429_is_plain_text_rate_exceeded(standin: StandIn) -> None:
    standin.set_faults([Fault("429", first_n=1)])
    throttled, normal = get(standin), get(standin)
    assert throttled.status_code == 429
    assert throttled.text == "Rate exceeded."
    assert throttled.headers["Content-Type"].startswith("text/plain")
    assert normal.status_code == 200


def test_rate_exceeded_with_status_200(standin: StandIn) -> None:
    standin.set_faults([Fault("rate_exceeded_200")])
    answer = get(standin)
    assert answer.status_code == 200
    assert answer.text == "Rate exceeded."
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_empty_page_is_a_valid_feed_with_zero_results(standin: StandIn) -> None:
    standin.set_faults([Fault("empty_page", every_nth=2)])
    first, second, third = (_feed.parse(get(standin).content) for _ in range(3))
    assert len(first.results) == 1 and len(third.results) == 1
    assert not second.malformed
    assert second.results == [] and second.header.total_results == 0


def test_truncated_answer_is_cut_mid_xml(standin: StandIn) -> None:
    normal = get(standin).content
    standin.set_faults([Fault("truncated", first_n=1)])
    cut = get(standin)
    assert cut.status_code == 200
    assert 0 < len(cut.content) < len(normal)
    assert normal.startswith(cut.content[:200])  # same feed, cut short (ids differ by time)
    with pytest.raises(ET.ParseError):
        ET.fromstring(cut.content)


def test_html_instead_of_atom(standin: StandIn) -> None:
    standin.set_faults([Fault("html", first_n=1)])
    answer = get(standin)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<!DOCTYPE html>")


def test_reset_closes_without_answer(standin: StandIn) -> None:
    standin.set_faults([Fault("reset", first_n=1)])
    with pytest.raises(httpx.TransportError):
        get(standin)
    assert get(standin).status_code == 200
    assert [(e.status, e.fault) for e in standin.log] == [(0, "reset"), (200, None)]


def test_slow_answers_after_the_delay(standin: StandIn) -> None:
    standin.set_faults([Fault("slow", first_n=1, delay=0.1)])
    started = time.monotonic()
    answer = get(standin)
    assert time.monotonic() - started >= 0.1
    assert answer.status_code == 200 and len(_feed.parse(answer.content).results) == 1
    assert standin.log[0].fault == "slow"


def test_hang_until_the_client_gives_up(standin: StandIn) -> None:
    standin.set_faults([Fault("hang", first_n=1)])
    with pytest.raises(httpx.ReadTimeout):
        get(standin, timeout=0.2)
    assert standin.log[0].fault == "hang"
    # The hung handler notices the closed connection and stops counting as in flight.
    wait_until(lambda: standin.in_flight == 0)
    assert (standin.log[0].status, standin.log[0].fault) == (0, "hang")
    assert get(standin).status_code == 200
    assert standin.log[-1].in_flight == 1


def test_only_ids_faults_skip_searches(standin: StandIn) -> None:
    standin.set_faults([Fault("503", first_n=1, only_ids=True)])
    assert get(standin, search_query="ti:sapiens").status_code == 200
    assert get(standin).status_code == 503
    assert get(standin).status_code == 200


def test_faults_count_from_when_they_are_set(standin: StandIn) -> None:
    for _ in range(3):
        get(standin)
    standin.set_faults([Fault("503", first_n=1)])
    assert [get(standin).status_code for _ in range(2)] == [503, 200]


def test_first_applicable_fault_wins_and_all_count(standin: StandIn) -> None:
    standin.set_faults([Fault("429", every_nth=2), Fault("503", first_n=2)])
    assert [get(standin).status_code for _ in range(4)] == [503, 429, 200, 429]


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "teapot"},
        {"kind": "503", "first_n": 1, "every_nth": 2},
        {"kind": "503", "first_n": 0},
        {"kind": "slow"},
    ],
)
def test_invalid_faults_are_refused(arguments: dict) -> None:
    kind = arguments.pop("kind")
    with pytest.raises(ValueError):
        Fault(kind, **arguments)


def test_post_refused_answers_405_to_posts_and_serves_gets(standin: StandIn) -> None:
    # docs/arxiv.md §2: the new backend refused POST until 2025-11-21 (arxiv-search 9ab8d32).
    standin.set_faults([Fault("post_refused")])
    posted = httpx.post(standin.url, data=ONE_PAPER)
    assert posted.status_code == 405 and posted.headers["Allow"] == "GET"
    assert get(standin).status_code == 200


def test_a_get_past_the_request_line_is_414(standin: StandIn) -> None:
    # docs/arxiv.md §2: gunicorn's default request line is 4094 bytes.
    ids = ",".join(f"2401.{n:05d}" for n in range(1, 400))
    assert get(standin, id_list=ids).status_code == 414
    assert httpx.post(standin.url, data={"id_list": ids}).status_code == 200


def test_a_slow_429_has_no_retry_after(standin: StandIn) -> None:
    # docs/arxiv.md §5: "Rate exceeded." without Retry-After, slow to arrive.
    standin.set_faults([Fault("429", delay=0.2)])
    started = time.monotonic()
    answer = get(standin)
    assert time.monotonic() - started >= 0.2
    assert (answer.status_code, answer.text) == (429, "Rate exceeded.")
    assert "Retry-After" not in answer.headers


def test_index_lag_hides_fresh_papers_from_ids_and_searches(standin: StandIn) -> None:
    # docs/arxiv.md §3: new papers reach the API from the midnight after announcement.
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    fresh = CorpusRecord(
        id="2612.00077",
        title="Zymurgical Transformers",
        abstract="Fresh.",
        authors=[("New Author", [])],
        primary_category="cs.LG",
        categories=["cs.LG"],
        comment=None,
        journal_ref=None,
        doi=None,
        versions=[now],
    )
    standin.add_records([fresh])
    standin.set_index_lag(3600)

    def served(**params: str) -> list[str]:
        return [
            r.entry_id for r in _feed.parse(get(standin, timeout=5.0, **params).content).results
        ]

    assert served(id_list="2612.00077,1207.7214") == ["http://arxiv.org/abs/1207.7214v2"]
    assert served(search_query="ti:zymurgical") == []
    standin.set_index_lag(0)
    assert served(search_query="ti:zymurgical") == ["http://arxiv.org/abs/2612.00077v1"]


def test_fault_specs_for_the_cli() -> None:
    assert parse_fault_spec("503:first=2:retry_after=1") == Fault("503", first_n=2, retry_after=1)
    assert parse_fault_spec("slow:every=3:delay=0.5:only_ids") == Fault(
        "slow", every_nth=3, delay=0.5, only_ids=True
    )
    assert parse_fault_spec("html") == Fault("html")
    with pytest.raises(ValueError, match="unknown option"):
        parse_fault_spec("503:sometimes")


def test_log_records_params_ids_and_gaps(standin: StandIn) -> None:
    get(standin, id_list="1207.7214,hep-th/9711200", max_results="2")
    time.sleep(0.05)
    httpx.post(standin.url, data={"search_query": "ti:sapiens"})
    first, second = standin.log
    assert first.method == "GET" and second.method == "POST"
    assert first.params == {"id_list": "1207.7214,hep-th/9711200", "max_results": "2"}
    assert first.ids == ["1207.7214", "hep-th/9711200"]
    assert second.params == {"search_query": "ti:sapiens"} and second.ids == []
    assert first.since_previous is None
    assert second.since_previous is not None and second.since_previous >= 0.05
    assert second.at - first.at == pytest.approx(second.since_previous)
    assert (first.in_flight, second.in_flight) == (1, 1)
    standin.clear_log()
    assert standin.log == []


def test_concurrent_requests_are_counted_in_flight(standin: StandIn) -> None:
    standin.set_faults([Fault("slow", first_n=1, delay=0.3)])
    slow = threading.Thread(target=get, args=(standin,))
    slow.start()
    wait_until(lambda: len(standin.log) == 1)
    assert get(standin).status_code == 200
    slow.join()
    assert [e.in_flight for e in standin.log] == [1, 2]
    assert [e.fault for e in standin.log] == ["slow", None]


def test_stop_is_prompt_while_an_answer_hangs(standin_corpus: list[CorpusRecord]) -> None:
    server = StandIn(standin_corpus, faults=[Fault("hang")]).start()
    url = server.url
    failures: list[BaseException] = []

    def hung_client() -> None:
        try:
            get(server, timeout=30)
        except httpx.TransportError as exc:
            failures.append(exc)

    client = threading.Thread(target=hung_client)
    client.start()
    wait_until(lambda: [e.fault for e in server.log] == ["hang"])
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=5)  # a liveness bound, far below the client's 30 s timeout
    assert not stopper.is_alive()
    client.join(timeout=5)
    assert not client.is_alive() and failures  # the client got an error, not an answer
    assert [(e.status, e.fault) for e in server.log] == [(0, "hang")]
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)


def test_cli_prints_listening_line_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.standin", "--corpus", str(CORPUS), "--port", "0",
         "--fault", "429:first=1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        assert url.endswith("/api/query")
        assert httpx.get(url, params=ONE_PAPER, timeout=5).status_code == 429
        answer = httpx.get(url, params=ONE_PAPER, timeout=5)
        assert answer.status_code == 200
        assert len(_feed.parse(answer.content).results) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_refuses_a_missing_corpus(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.standin", "--corpus", str(tmp_path / "none.jsonl")],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot load corpus" in done.stderr and "none.jsonl" in done.stderr
