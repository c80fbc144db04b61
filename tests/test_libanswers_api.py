"""The LibAnswers API client, the field mapping, the settings and `check`, against a real server.

The server is tests/libanswers_support.FakeLibAnswers on 127.0.0.1 and port 0: real HTTP,
real OAuth flow, no network and no mocks of our own code.
"""

from __future__ import annotations

import logging
import os
import socket
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from libanswers_support import (
    CHAT_FIELDS,
    CLIENT_ID,
    DATASET_ID,
    DATASETS,
    LINK,
    SECRET,
    FakeLibAnswers,
    Fault,
    config,
)

from libchat_tui.analytics import CHAT_DATASET
from libchat_tui.config import ConfigError, _Reader
from libchat_tui.libanswers.api import LibAnswersApi, PermanentError, RetryableError
from libchat_tui.libanswers.check import check
from libchat_tui.libanswers.mapping import FormField, MappingError, plan_dataset, transaction_form
from libchat_tui.libanswers.settings import DatasetLink, Secret, parse_libanswers


@pytest.fixture
def fake() -> Iterator[FakeLibAnswers]:
    with FakeLibAnswers() as server:
        yield server


ENTRY_DAY = date(2026, 11, 28)
ENTRY: dict[str, Any] = {
    "id": 1, "chat_id": 7, "dataset": "Chat", "librarian_id": "ada", "author": "Ada Lovelace",
    "created_at": "2026-11-28T14:09:00.000+00:00", "updated_at": "2026-11-28T14:09:00.000+00:00",
    "fields": {"question_type": "reference", "read_scale": 3, "topics": ["yearbooks", "maps"],
               "patron_type": "student", "answer_summary": "Pointed to the digital archive.",
               "date_time": "2026-11-28T09:00:00.000-05:00", "duration_seconds": 540, "wait_seconds": 20,
               "first_question": "Do you have the 1923 yearbook?"},
}


# --- OAuth ------------------------------------------------------------------------------


async def test_login_caches_the_token_until_it_expires(fake: FakeLibAnswers) -> None:
    clock = [0.0]
    async with LibAnswersApi(config(fake), monotonic=lambda: clock[0]) as api:
        assert await api.queues() == fake.queues
        await api.queues()
        assert fake.logins == 1  # one token for both calls
        clock[0] = 3600.0  # the token's lifetime has passed
        await api.queues()
        assert fake.logins == 2
        assert fake.count("POST /oauth/token") == 2


async def test_a_refused_token_means_one_new_login_and_the_call_again(fake: FakeLibAnswers) -> None:
    async with LibAnswersApi(config(fake)) as api:
        await api.login()
        fake.expire_tokens()  # LibAnswers revoked it early
        assert [f.id for f in await api.formfields(DATASET_ID)] == ["812", "813", "814", "815", "816"]
        assert fake.logins == 2
        assert fake.count(f"GET /ra/dataset/{DATASET_ID}/formfields") == 2

        refusal = Fault(401, {"error": "invalid_token"})
        fake.fail("GET /queues", refusal, refusal)
        with pytest.raises(PermanentError, match="refused the API login twice") as caught:
            await api.queues()
        assert fake.logins == 3  # re-authenticated once, not in a loop
        assert api.login_problem == str(caught.value)  # the desk bar shows it ...
        await api.queues()
        assert api.login_problem is None  # ... until the token is taken again


async def test_a_wrong_secret_is_permanent_and_never_repeated(fake: FakeLibAnswers,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wr0ng-secret-that-must-not-leak"
    async with LibAnswersApi(config(fake, client_secret=Secret(wrong))) as api:
        with pytest.raises(PermanentError) as caught:
            await api.queues()
    message = str(caught.value)
    assert "refused the API login for client 1286APP-001" in message
    assert "Client authentication failed for ***" in message  # the server echoed it; we did not
    assert wrong not in message and wrong not in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(("fault", "wait"), [
    (Fault(500), None),
    (Fault(503, {"error": "Maintenance"}, {"Retry-After": "20"}), 20.0),
    (Fault(429, {"error": "Too many requests"}, {"Retry-After": "7"}), 7.0),
    (Fault(502, "<html>Bad Gateway</html>"), None),
], ids=["500", "503", "429", "502-html"])
async def test_a_login_fault_is_worth_retrying_and_the_call_never_left(fake: FakeLibAnswers, fault: Fault,
                                                                       wait: float | None) -> None:
    fake.fail("POST /oauth/token", fault)
    async with LibAnswersApi(config(fake)) as api:
        with pytest.raises(RetryableError, match=r"^could not log in to LibAnswers: LibAnswers ") as caught:
            await api.ticket_create(question="q", details="d", name="n", email="n@example.edu")
        assert not caught.value.maybe_sent and caught.value.retry_after == wait
        assert api.login_problem == str(caught.value)
        assert fake.count("POST /ticket/create") == 0
        await api.ticket_create(question="q", details="d", name="n", email="n@example.edu")
        assert api.login_problem is None  # a login worked again
    assert len(fake.tickets) == 1


async def test_a_login_that_times_out_is_worth_retrying_and_nothing_was_sent(fake: FakeLibAnswers) -> None:
    fake.fail("POST /oauth/token", Fault(stall=True))
    async with LibAnswersApi(config(fake, timeout_seconds=0.3)) as api:
        with pytest.raises(RetryableError, match=r"did not answer within 0.3 s") as caught:
            await api.ticket_create(question="q", details="d", name="n", email="n@example.edu")
    assert not caught.value.maybe_sent
    assert fake.count("POST /ticket/create") == 0


async def test_bad_credentials_stay_a_lasting_login_problem(fake: FakeLibAnswers) -> None:
    async with LibAnswersApi(config(fake, client_secret=Secret("nope"))) as api:
        with pytest.raises(PermanentError, match="refused the API login") as caught:
            await api.queues()
        assert api.login_problem == str(caught.value)


@pytest.mark.parametrize("secret", ["a+b/c=d e&f%g", "s3cret with spaces/and+plus=="])
async def test_the_secret_is_blanked_out_url_encoded_too(fake: FakeLibAnswers, secret: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("POST /oauth/token",
              Fault(401, {"error": "invalid_client"}, echo_request=True),  # the form body, as sent
              Fault(503, {"error": "Maintenance"}, echo_request=True),
              Fault(400, {"error": f"bad request: /oauth/token?client_secret={quote(secret, safe='')}"}))
    said: list[str] = []
    async with LibAnswersApi(config(fake, client_secret=Secret(secret))) as api:
        for _ in range(3):
            with pytest.raises((PermanentError, RetryableError)) as caught:
                await api.queues()
            said.append(str(caught.value))
    assert all("client_secret=***" in text for text in said), said
    for text in [*said, caplog.text]:
        for form in (secret, quote_plus(secret), quote(secret, safe=""), quote(secret)):
            assert form not in text


# --- tickets -----------------------------------------------------------------------------


async def test_ticket_create_returns_the_ticket_and_its_link(fake: FakeLibAnswers) -> None:
    async with LibAnswersApi(config(fake)) as api:
        made = await api.ticket_create(question="Scan of the 1923 yearbook", details="Pages 40-44",
                                       name="Grace Hopper", email="grace@example.edu")
    assert made.id == "1234"
    assert made.url == "https://library.libanswers.com/admin/ticket?qid=1234"
    (ticket,) = fake.tickets
    assert ticket["quid"] == "5477" and ticket["pquestion"] == "Scan of the 1923 yearbook"
    assert ticket["pemail"] == "grace@example.edu" and ticket["pdetails"] == "Pages 40-44"


async def test_429_says_when_to_come_back(fake: FakeLibAnswers) -> None:
    fake.fail("POST /ticket/create", Fault(429, {"error": "Too many requests"}, {"Retry-After": "7"}))
    async with LibAnswersApi(config(fake)) as api:
        with pytest.raises(RetryableError) as caught:
            await api.ticket_create(question="q", details="d", name="n", email="n@example.edu")
    assert caught.value.retry_after == 7.0 and not caught.value.maybe_sent
    assert "wait 7 s" in str(caught.value)
    assert fake.tickets == []


async def test_5xx_is_retryable_and_a_validation_error_is_not(fake: FakeLibAnswers) -> None:
    fake.fail("POST /ticket/create", Fault(503, {"error": "Maintenance"}))
    async with LibAnswersApi(config(fake)) as api:
        with pytest.raises(RetryableError, match=r"problem \(503\): Maintenance"):
            await api.ticket_create(question="q", details="d", name="n", email="n@example.edu")
        with pytest.raises(PermanentError, match="pemail must be a valid email address") as caught:
            await api.ticket_create(question="q", details="d", name="n", email="not an address")
    assert caught.value.status == 400
    assert fake.count("POST /ticket/create") == 2 and fake.tickets == []


async def test_a_timeout_is_retryable_and_says_the_ticket_may_have_arrived(fake: FakeLibAnswers) -> None:
    fake.fail("POST /ticket/create", Fault(stall=True))
    async with LibAnswersApi(config(fake, timeout_seconds=0.3)) as api:
        with pytest.raises(RetryableError, match=r"did not answer within 0.3 s") as caught:
            await api.ticket_create(question="q", details="d", name="n", email="n@example.edu")
    assert caught.value.maybe_sent and caught.value.status is None


async def test_an_unreachable_site_is_retryable_and_nothing_was_sent() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with FakeLibAnswers() as server:
        cfg = replace(config(server), site=f"http://127.0.0.1:{port}")
    async with LibAnswersApi(cfg) as api:
        with pytest.raises(RetryableError, match="could not be reached") as caught:
            await api.queues()
        assert api.login_problem == str(caught.value)  # it was the login that could not be made
    assert not caught.value.maybe_sent


# --- Reference Analytics -------------------------------------------------------------


async def test_a_transaction_carries_mapped_field_and_option_ids(fake: FakeLibAnswers) -> None:
    async with LibAnswersApi(config(fake)) as api:
        plan = plan_dataset(CHAT_DATASET, LINK, await api.formfields(DATASET_ID))
        form = transaction_form(plan, ENTRY, "ada@library.edu", "libchat-a1-feedface")
        assert await api.create_transaction(DATASET_ID, form) == "9001"
        listed = await api.transactions(DATASET_ID, ENTRY_DAY, ENTRY_DAY)
    (stored,) = fake.transactions[DATASET_ID]
    assert listed == [stored]
    assert stored["fields"] == {
        "812": ["3303"],            # reference -> "Research" (an option override)
        "813": ["3403"],            # READ scale 3
        "814": ["yearbooks, maps"],  # tags into a text field
        "815": ["3501"],            # patron_type -> "Patron Status" (a field override), student
        "816": ["3601"],            # fixed: Contact Method = Chat
    }
    assert stored["date_time"] == "2026-11-28 14:00:00"  # UTC
    assert stored["question"] == "Do you have the 1923 yearbook?"
    assert stored["answer"] == "Pointed to the digital archive."
    assert "libchat-a1-feedface" in stored["internal_note"] and stored["owner"] == "ada@library.edu"


def test_a_field_without_a_match_is_named() -> None:
    fields = [FormField.from_api(f) for f in CHAT_FIELDS]
    with pytest.raises(MappingError, match=r"no field labelled \"Patron type\" for the local field "
                       r"'patron_type'") as caught:
        plan_dataset(CHAT_DATASET, replace(LINK, fields={}), fields)
    assert caught.value.field == "patron_type"
    assert "[libanswers.datasets.Chat.fields] patron_type" in str(caught.value)


def test_an_option_without_a_match_is_named() -> None:
    fields = [FormField.from_api(f) for f in CHAT_FIELDS]
    with pytest.raises(MappingError, match=r"no option labelled \"reference\" for 'reference' of "
                       r"'question_type'") as caught:
        plan_dataset(CHAT_DATASET, replace(LINK, options={}), fields)
    assert "Research" in str(caught.value)


def test_a_required_libanswers_field_left_unmapped_is_named() -> None:
    fields = [FormField.from_api(f) for f in CHAT_FIELDS]
    with pytest.raises(MappingError, match=r"requires \"Contact Method\""):
        plan_dataset(CHAT_DATASET, replace(LINK, fixed={}), fields)
    plan = plan_dataset(CHAT_DATASET, DatasetLink(DATASET_ID, fields={"patron_type": 815},
                                                  options={"question_type": {"reference": 3303}},
                                                  fixed={"Contact Method": "Chat"}, skip=("topics",)),
                        fields)
    assert [r.target.id for r in plan.routes] == ["812", "813", "815"]  # ids work as overrides


# --- settings ----------------------------------------------------------------------------


def _parse(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Any:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return parse_libanswers(_Reader(path, text), tomllib.loads(text), env or {})


SETTINGS = """[libanswers]
site = "https://library.libanswers.com/"
client_id = "1286APP-001"
queue_id = 5477
owner_email = "desk@library.edu"

[libanswers.owners]
"Ada Lovelace" = "ada@library.edu"

[libanswers.datasets.Chat]
dataset_id = 2047
fixed = { "Contact Method" = "Chat" }

[libanswers.datasets.Chat.fields]
patron_type = "Patron Status"

[libanswers.datasets.Chat.options.question_type]
reference = "Research"
"""


def test_settings_read_the_secret_from_the_environment_and_never_show_it(tmp_path: Path) -> None:
    assert _parse(tmp_path, "[librarian]\nname = \"Ada\"\n") is None
    cfg = _parse(tmp_path, SETTINGS, {"LIBANSWERS_CLIENT_SECRET": SECRET})
    assert cfg.site == "https://library.libanswers.com" and cfg.api_base.endswith("/api/1.1")
    assert cfg.client_secret.reveal() == SECRET and cfg.secret_source == "$LIBANSWERS_CLIENT_SECRET"
    assert cfg.datasets["Chat"] == LINK and cfg.queue_id == 5477 and cfg.pushes("Chat")
    assert SECRET not in repr(cfg) and SECRET not in str(cfg.client_secret)
    with pytest.raises(ConfigError, match=r"config.toml, line 1: \[libanswers\] needs the API client "
                       r"secret: set \$LIBANSWERS_CLIENT_SECRET"):
        _parse(tmp_path, SETTINGS)
    renamed = SETTINGS.replace("queue_id", 'client_secret_env = "LA_SECRET"\nqueue_id')
    assert _parse(tmp_path, renamed, {"LA_SECRET": "x1"}).client_secret.reveal() == "x1"


def test_settings_take_the_secret_from_an_owner_only_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "libanswers-secret"
    secret_file.write_text(SECRET + "\n")
    os.chmod(secret_file, 0o644)
    text = SETTINGS.replace("queue_id", 'client_secret_file = "libanswers-secret"\nqueue_id')
    with pytest.raises(ConfigError, match=r"line 4: \[libanswers\] client_secret_file .* can be read by "
                       r"others \(mode 0644\); make it owner-only: chmod 600") as caught:
        _parse(tmp_path, text)
    assert SECRET not in str(caught.value)
    os.chmod(secret_file, 0o600)
    cfg = _parse(tmp_path, text, {"LIBANSWERS_CLIENT_SECRET": "ignored"})
    assert cfg.client_secret.reveal() == SECRET and cfg.secret_source == str(secret_file)


@pytest.mark.parametrize(("text", "line", "message"), [
    ('[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = "1"\nclient_secret = "oops"\n', 4,
     "client_secret must not be in the settings file"),
    ('[libanswers]\nsite = "http://x.libanswers.com"\nclient_id = "1"\n', 2, "must be an https:// address"),
    ('[libanswers]\nsite = "https://x.libanswers.com"\n', 1, "client_id is required"),
    ('[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = "1"\nqueue_id = "ask"\n', 4,
     "queue_id must be a positive whole number"),
    ('[libanswers]\nsite = "https://x.libanswers.com"\nclient_id = "1"\n[libanswers.datasets.Chat]\n'
     'dataset_id = 5\nlabels = 1\n', 6, "[libanswers.datasets.Chat] labels is not a setting"),
])
def test_settings_mistakes_name_the_line_and_the_key(tmp_path: Path, text: str, line: int,
                                                      message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(tmp_path, text, {"LIBANSWERS_CLIENT_SECRET": SECRET})
    assert f"line {line}:" in str(caught.value) and message in str(caught.value)


# --- libchat-tui libanswers check --------------------------------------------------------


async def test_check_logs_in_and_says_what_maps_to_what(fake: FakeLibAnswers) -> None:
    lines = await check(config(fake), DATASETS)
    assert lines[0] == f"LibAnswers {fake.url}: API client {CLIENT_ID}, secret from $LIBANSWERS_CLIENT_SECRET"
    assert lines[1] == "logged in (the token is good for 59 min)"
    assert lines[2] == 'tickets go to queue 5477 "Ask Us"'
    assert lines[3].startswith('dataset Chat → LibAnswers dataset 2047: 812 "Question Type" '
                               '(select, required); 813 "READ Scale" (radio)')
    assert "  question_type (Question type) → field 812 \"Question Type\": directional→3301, " \
           "informational→3302, reference→3303, technical→3304, policy→3305, other→3306" in lines
    assert '  "Contact Method" (field 816) is always 3601' in lines
    assert not [line for line in lines if line.startswith("error:")]
    assert all(SECRET not in line for line in lines)


async def test_check_gives_one_clear_line_per_problem(fake: FakeLibAnswers) -> None:
    bad = config(fake, queue_id=99, datasets={"Chat": replace(LINK, options={}), "Desk": LINK})
    errors = [line for line in await check(bad, DATASETS) if line.startswith("error:")]
    assert errors[0] == ('error: queue 99 is not one this API client may use (it may use: 5477 "Ask Us", '
                         '12 "Interlibrary Loan"); see LibAnswers admin: Queues')
    assert errors[1].startswith("error: dataset Chat: The LibAnswers field \"Question Type\" has no option")
    assert errors[2] == "error: [libanswers.datasets.Desk] names no local dataset (local: Chat)"
    assert await check(config(fake, client_secret=Secret("nope")), DATASETS) == [
        f"LibAnswers {fake.url}: API client {CLIENT_ID}, secret from $LIBANSWERS_CLIENT_SECRET",
        "error: cannot log in: LibAnswers refused the API login for client 1286APP-001: Client "
        "authentication failed for ***. Check client_id and the secret (LibAnswers admin: API > "
        "Authentication).",
    ]


async def test_check_says_a_passing_login_fault_once(fake: FakeLibAnswers) -> None:
    fake.fail("POST /oauth/token", Fault(503, {"error": "Maintenance"}))
    assert (await check(config(fake), DATASETS))[1:] == [
        "error: could not log in to LibAnswers: LibAnswers had a problem (503): Maintenance"]
