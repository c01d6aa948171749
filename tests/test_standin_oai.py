"""The stand-in's /oai endpoint answers like arXiv's OAI-PMH service: the genuine GetRecord
capture's layout, paging by self-contained resumption tokens, OAI error codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from lxml import etree
from test_fetch import GENUINE

from pipeline.standin import CorpusRecord
from pipeline.standin.oai import DEFAULT_PAGE_SIZE, answer_oai, set_spec
from pipeline.standin.query import Catalog

OAI = "{http://www.openarchives.org/OAI/2.0/}"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def ask(
    catalog: Catalog, params: Mapping[str, str], page_size: int = DEFAULT_PAGE_SIZE
) -> etree._Element:
    answer = answer_oai(catalog, params, page_size, NOW)
    assert answer.status == 200 and answer.content_type.startswith("text/xml")
    return etree.fromstring(answer.body)


def shape(element: etree._Element) -> list[str]:
    """Tags in document order, namespaces kept, repeated siblings once."""
    tags: list[str] = []
    for node in element.iter():
        if isinstance(node.tag, str) and (not tags or tags[-1] != node.tag):
            tags.append(node.tag)
    return tags


def test_get_record_has_the_layout_of_the_genuine_capture(
    standin_corpus: list[CorpusRecord],
) -> None:
    genuine = etree.parse(str(GENUINE / "oai-arxivraw-getrecord-hep-th-9711200.xml")).getroot()
    ours = ask(
        Catalog(standin_corpus),
        {
            "verb": "GetRecord",
            "identifier": "oai:arXiv.org:hep-th/9711200",
            "metadataPrefix": "arXivRaw",
        },
    )
    # The capture has report-no, which the corpus does not keep.
    expected = [t for t in shape(genuine) if not t.endswith("report-no")]
    assert shape(ours) == expected
    raw = "{http://arxiv.org/OAI/arXivRaw/}"
    for tag in ("id", "title", "categories", "comments", "journal-ref", "doi"):
        assert ours.findtext(f".//{raw}{tag}") == genuine.findtext(f".//{raw}{tag}"), tag
    dates = [e.text for e in ours.iter(f"{raw}date")]
    assert dates == [e.text for e in genuine.iter(f"{raw}date")]


def test_list_records_pages_with_tokens_that_carry_the_request(
    standin_corpus: list[CorpusRecord],
) -> None:
    catalog = Catalog(standin_corpus)
    seen: list[str | None] = []
    params = {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": "2000-01-01"}
    while True:
        root = ask(catalog, params, page_size=25)
        seen += [e.text for e in root.iter(f"{OAI}identifier")]
        token = root.find(f".//{OAI}resumptionToken")
        assert token is not None
        if not token.text:
            break
        assert dict(parse_qsl(token.text))["from"] == "2000-01-01"
        assert token.get("expirationDate") == "2026-12-02T00:00:00Z"
        params = {"verb": "ListRecords", "resumptionToken": token.text}
    expected = [r for r in standin_corpus if r.versions[-1] >= "2000-01-01"]
    assert len(seen) == len(set(seen)) == len(expected)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc"}, "cannotDisseminateFormat"),
        ({"verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": "3000-01-01"},
         "noRecordsMatch"),
        ({"verb": "ListRecords", "resumptionToken": "skip=x"}, "badResumptionToken"),
        ({"verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": "yesterday"},
         "badArgument"),
        ({"verb": "Nonsense"}, "badVerb"),
        ({"verb": "GetRecord", "identifier": "oai:arXiv.org:2501.99999",
          "metadataPrefix": "arXivRaw"}, "idDoesNotExist"),
    ],
)  # fmt: skip
def test_oai_errors(standin_corpus: list[CorpusRecord], params: dict[str, str], code: str) -> None:
    error = ask(Catalog(standin_corpus), params).find(f"{OAI}error")
    assert error is not None and error.get("code") == code


def test_set_specs_follow_arxiv_groups() -> None:
    assert [set_spec(c) for c in ("cs.AI", "hep-th", "math.NA", "cond-mat.soft", "stat.ML")] == [
        "cs:cs:AI",
        "physics:hep-th",
        "math:math:NA",
        "physics:cond-mat:soft",
        "stat:stat:ML",
    ]
