"""A small LibAnswers API 1.1 of our own on port 0, and helpers to put records in a real store.

The server is stateful like the real one (tokens that expire, a ticket queue, RA datasets
with form fields and option ids, recorded transactions) and validates what it is sent,
so the tests exercise the client and worker against the protocol, not against mocks.
Faults are queued per endpoint: a status with a body and headers (or with the request
body echoed back), or a stall (optionally after storing the record, like a server that
commits and then never answers).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from libchat_tui.analytics import CHAT_DATASET
from libchat_tui.backend import rows
from libchat_tui.backend.clock import FakeClock
from libchat_tui.backend.store import Outcome, Store, Tx
from libchat_tui.domain import Chat, ChatState, iso
from libchat_tui.libanswers.push import enqueue_analytics, enqueue_ticket
from libchat_tui.libanswers.settings import DatasetLink, LibAnswersConfig, Secret

SECRET = "s3cret-Never-Print-Me-7781"
CLIENT_ID = "1286APP-001"
DATASET_ID = 2047
QUEUE_ID = 5477
DATASETS = {"Chat": CHAT_DATASET}
LINK = DatasetLink(DATASET_ID, fields={"patron_type": "Patron Status"},
                   options={"question_type": {"reference": "Research"}}, fixed={"Contact Method": "Chat"})


def _options(first: int, *labels: str) -> list[dict[str, Any]]:
    return [{"id": first + i, "label": label} for i, label in enumerate(labels)]


CHAT_FIELDS: list[dict[str, Any]] = [
    {"id": 812, "label": "Question Type", "html_type": "select", "required": True,
     "options": _options(3301, "Directional", "Informational", "Research", "Technical", "Policy", "Other")},
    {"id": 813, "label": "READ Scale", "html_type": "radio", "required": False,
     "options": _options(3401, "1", "2", "3", "4", "5", "6")},
    {"id": 814, "label": "Topic tags", "html_type": "textarea", "required": False, "options": []},
    {"id": 815, "label": "Patron Status", "html_type": "select", "required": False,
     "options": _options(3501, "Student", "Faculty", "Staff", "Community", "Other")},
    {"id": 816, "label": "Contact Method", "html_type": "select", "required": True,
     "options": _options(3601, "Chat", "Email", "In person")},
]


@dataclass
class Fault:
    """One planned misbehaviour of an endpoint."""

    status: int = 500
    body: Any = field(default_factory=lambda: {"error": "Internal error"})
    headers: dict[str, str] = field(default_factory=dict)
    stall: bool = False        # never answer (until released)
    store_first: bool = False  # do the work, then misbehave
    echo_request: bool = False  # answer with the request body as it came, like a careless error page


class FakeLibAnswers:
    """The endpoints libchat-tui uses, under /api/1.1, on 127.0.0.1 and a free port."""

    def __init__(self, *, secret: str = SECRET, token_lifetime: int = 3600) -> None:
        self.secret = secret
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, float] = {}
        self.logins = 0
        self.tickets: list[dict[str, Any]] = []
        self.transactions: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.formfields = {DATASET_ID: CHAT_FIELDS}
        self.queues = [{"id": QUEUE_ID, "name": "Ask Us"}, {"id": 12, "name": "Interlibrary Loan"}]
        self.notes_in_listing = True  # False: the transactions listing leaves internal notes out
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.requests: list[str] = []  # "POST /ticket/create", in order of arrival
        self.changed = threading.Condition()
        self.release = threading.Event()
        self._ids = itertools.count(1234)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self._http.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> FakeLibAnswers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._http.shutdown()
        self._http.server_close()

    def fail(self, endpoint: str, *faults: Fault) -> None:
        """Queue faults for e.g. "POST /ticket/create" (path after /api/1.1)."""
        with self.changed:
            self.faults[endpoint].extend(faults)

    def count(self, endpoint: str) -> int:
        with self.changed:
            return sum(1 for r in self.requests if r == endpoint)

    def record_by_hand(self, dataset: int, date_time: str, question: str, note: str = "") -> int:
        """A transaction someone entered in LibAnswers itself: no libchat-tui marker. Its id."""
        with self.changed:
            record = {"id": 9000 + len(self.transactions[dataset]) + 1, "date_time": date_time,
                      "question": question, "answer": "", "internal_note": note, "owner": "ada@library.edu",
                      "fields": {}}
            self.transactions[dataset].append(record)
            return int(record["id"])

    def expire_tokens(self) -> None:
        with self.changed:
            self.tokens.clear()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait (bounded) until the server's state satisfies `predicate`."""
        def wait() -> bool:
            with self.changed:
                return self.changed.wait_for(predicate, timeout)

        assert await asyncio.to_thread(wait), "the LibAnswers test server never got there"

    # --- the API ---------------------------------------------------------------------

    def handle(self, method: str, path: str, query: list[tuple[str, str]], form: list[tuple[str, str]],
               auth: str, raw: str = "") -> tuple[int, Any, dict[str, str]]:
        with self.changed:
            endpoint = f"{method} {path}"
            self.requests.append(endpoint)
            self.changed.notify_all()
            fault = self.faults[endpoint].popleft() if self.faults[endpoint] else None
        if fault is not None and not fault.store_first:
            return self._misbehave(fault, raw)
        answer = self._answer(method, path, query, dict(form), form, auth)
        if fault is not None:
            return self._misbehave(fault, raw)
        return answer

    def _misbehave(self, fault: Fault, raw: str) -> tuple[int, Any, dict[str, str]]:
        if fault.stall:
            self.release.wait(10)
        if fault.echo_request:  # plain text, not JSON: the client shows it as it came
            return fault.status, f"{_error_text(fault.body)} (request: {raw})", fault.headers
        return fault.status, fault.body, fault.headers

    def _answer(self, method: str, path: str, query: list[tuple[str, str]], one: dict[str, str],
                form: list[tuple[str, str]], auth: str) -> tuple[int, Any, dict[str, str]]:
        if (method, path) == ("POST", "/oauth/token"):
            return self._token(one)
        with self.changed:
            expires = self.tokens.get(auth.removeprefix("Bearer "))
        if expires is None or expires < time.monotonic():
            return 401, {"error": "invalid_token", "error_description": "The access token is invalid"}, {}
        if (method, path) == ("GET", "/queues"):
            return 200, self.queues, {}
        if (method, path) == ("POST", "/ticket/create"):
            return self._ticket(one)
        found = re.fullmatch(r"/ra/dataset/(\d+)/(formfields|transaction|transactions)", path)
        if found is None or int(found.group(1)) not in self.formfields:
            return 404, {"error": f"Not found: {path}"}, {}
        dataset, what = int(found.group(1)), found.group(2)
        if what == "formfields" and method == "GET":
            return 200, self.formfields[dataset], {}
        if what == "transaction" and method == "POST":
            return self._transaction(dataset, one, form)
        if what == "transactions" and method == "GET":
            return self._listing(dataset, [v for k, v in query if k == "date_range[]"])
        return 405, {"error": "Method not allowed"}, {}

    def _token(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}, {}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != self.secret:
            # A careless server that echoes what it was sent: the client must not repeat it.
            return 401, {"error": "invalid_client", "error_description":
                         f"Client authentication failed for {form.get('client_secret')}"}, {}
        token = secrets.token_hex(16)
        with self.changed:
            self.logins += 1
            self.tokens[token] = time.monotonic() + self.token_lifetime
        return 200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}, {}

    def _ticket(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if form.get("quid") not in {str(q["id"]) for q in self.queues}:
            return 400, {"error": f"Invalid queue id: {form.get('quid')}"}, {}
        if not form.get("pquestion") or len(form["pquestion"]) > 150:
            return 400, {"error": "pquestion is required (at most 150 characters)"}, {}
        if "@" not in form.get("pemail", ""):
            return 400, {"error": "pemail must be a valid email address"}, {}
        with self.changed:
            ticket = {"id": next(self._ids), **form}
            self.tickets.append(ticket)
            self.changed.notify_all()
        return 200, {"isDuplicate": False,
                     "ticketUrl": f"https://library.libanswers.com/admin/ticket?qid={ticket['id']}"}, {}

    def _transaction(self, dataset: int, one: dict[str, str],
                     form: list[tuple[str, str]]) -> tuple[int, Any, dict[str, str]]:
        if "@" not in one.get("owner_email", ""):
            return 400, {"error": "owner_email must be the email of a LibAnswers user"}, {}
        try:
            datetime.strptime(one.get("date_time", ""), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return 400, {"error": "date_time must be Y-m-d H:i:s"}, {}
        values: dict[int, list[str]] = defaultdict(list)
        for key, value in form:
            if hit := re.fullmatch(r"field\[(\d+)\](\[\])?", key):
                values[int(hit.group(1))].append(value)
        for spec in self.formfields[dataset]:
            got = values.get(spec["id"], [])
            if spec["required"] and not got:
                return 400, {"error": f"The field \"{spec['label']}\" is required"}, {}
            allowed = {str(o["id"]) for o in spec["options"]}
            for value in got:
                if allowed and value not in allowed:
                    return 400, {"error": f"Invalid option {value} for field {spec['id']}"}, {}
        with self.changed:
            record = {"id": 9000 + len(self.transactions[dataset]) + 1, "date_time": one["date_time"],
                      "question": one.get("question", ""), "answer": one.get("answer", ""),
                      "internal_note": one.get("internal_note", ""), "owner": one["owner_email"],
                      "fields": {str(k): v for k, v in values.items()}}
            self.transactions[dataset].append(record)
            self.changed.notify_all()
        return 200, {"id": record["id"]}, {}

    def _listing(self, dataset: int, bounds: list[str]) -> tuple[int, Any, dict[str, str]]:
        try:
            start, end = (date.fromisoformat(b) for b in bounds)
        except ValueError:
            return 400, {"error": "date_range[] needs two dates"}, {}
        if (end - start).days > 31:
            return 400, {"error": "date_range may span at most one month"}, {}
        with self.changed:
            found = [t for t in self.transactions[dataset]
                     if start <= date.fromisoformat(t["date_time"][:10]) <= end]
            if not self.notes_in_listing:
                found = [{k: v for k, v in t.items() if k != "internal_note"} for t in found]
        return 200, found, {}


def _error_text(body: Any) -> str:
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        fake: FakeLibAnswers = self.server.fake  # type: ignore[attr-defined]
        reply: tuple[int, Any, dict[str, str]] = (404, {"error": "Not found"}, {})
        if parts.path.startswith("/api/1.1/"):
            reply = fake.handle(
                method, parts.path.removeprefix("/api/1.1"), parse_qsl(parts.query, keep_blank_values=True),
                parse_qsl(body, keep_blank_values=True), self.headers.get("Authorization", ""), body)
        status, answer, headers = reply
        data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a timeout test)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def config(fake: FakeLibAnswers, **changes: Any) -> LibAnswersConfig:
    """Settings pointing at the test server, as parse_libanswers would build them."""
    cfg = LibAnswersConfig(site=fake.url, client_id=CLIENT_ID, client_secret=Secret(SECRET),
                           secret_source="$LIBANSWERS_CLIENT_SECRET", queue_id=QUEUE_ID,
                           owner_email="desk@library.edu", owners={"Ada Lovelace": "ada@library.edu"},
                           datasets={"Chat": LINK}, timeout_seconds=2.0, connect_timeout_seconds=2.0)
    return replace(cfg, **changes)


# --- records in a real store, enqueued in the same write as the desk will do ----------


async def new_chat(store: Store, clock: FakeClock, question: str = "Do you have the 1923 yearbook?") -> int:
    now = clock.now()
    chat = Chat(0, "Grace Hopper", "grace@example.edu", question, ChatState.ENDED, now, now,
                accepted_at=now, ended_at=now + timedelta(minutes=9))

    def work(tx: Tx) -> Outcome:
        chat_id = rows.insert_chat(tx, chat, secrets.token_hex(8))
        rows.save_chat(tx, replace(chat, id=chat_id))
        return Outcome({"chat_id": chat_id})

    return int((await store.write(work))["chat_id"])


async def new_ticket(store: Store, clock: FakeClock, chat_id: int, *, email: str = "grace@example.edu",
                     subject: str = "Scan of the 1923 yearbook") -> dict[str, Any]:
    def work(tx: Tx) -> Outcome:
        ticket = rows.insert_ticket(tx, {
            "chat_id": chat_id, "name": "Grace Hopper", "email": email, "subject": subject,
            "body": "Patron wants pages 40-44 scanned.", "source": "librarian",
            "created_by": "Ada Lovelace", "created_at": iso(clock.now())})
        enqueue_ticket(tx, ticket)
        return Outcome({"ticket": ticket})

    return dict((await store.write(work))["ticket"])


async def save_entry(store: Store, clock: FakeClock, chat_id: int, **fields: Any) -> dict[str, Any]:
    """Save (or edit) the chat's entry in the Chat dataset, as save_analytics does."""
    values = {"question_type": "reference", "read_scale": 3, "topics": ["yearbooks"],
              "patron_type": "student", "answer_summary": "Pointed to the digital archive.",
              "date_time": iso(clock.now()), "duration_seconds": 540, "wait_seconds": 20,
              "first_question": "Do you have the 1923 yearbook?", **fields}
    now = iso(clock.now())

    def work(tx: Tx) -> Outcome:
        tx.execute("INSERT INTO analytics(chat_id, dataset, fields, librarian_id, author, created_at,"
                   " updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(chat_id, dataset) DO UPDATE SET"
                   " fields=excluded.fields, updated_at=excluded.updated_at",
                   (chat_id, "Chat", json.dumps(values), "ada", "Ada Lovelace", now, now))
        row = tx.execute(f"SELECT {rows.ANALYTICS_COLUMNS} FROM analytics WHERE chat_id=? AND dataset=?",
                         (chat_id, "Chat")).fetchone()
        entry = rows.entry_from_row(row)
        enqueue_analytics(tx, entry)
        return Outcome({"entry": entry})

    return dict((await store.write(work))["entry"])
