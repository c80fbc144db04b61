"""A thin httpx client for the LibAnswers API 1.1: log in, create tickets, record transactions.

It logs in with OAuth client credentials and keeps the Bearer token until shortly before
it expires; a 401 logs in again once and repeats the call. Every failure becomes one of
two errors a caller can act on without reading HTTP codes:

* `RetryableError`: try later (network trouble, timeouts, 429 with its Retry-After,
  5xx). `maybe_sent` says the request may have reached LibAnswers before things went
  wrong, so resending could make a duplicate. `LoginUnavailable` is the same trouble
  met while logging in: the call itself never left, so it is never `maybe_sent`.
* `PermanentError`: resending will fail the same way (4xx validation, refused login);
  the message is LibAnswers' own.

`login_problem` holds what went wrong with the login (a refusal, or trouble reaching
the token endpoint), until a login works again or LibAnswers takes a token.
Messages never contain the client secret or the token, as typed or URL-encoded.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx

from .mapping import FormField
from .settings import LibAnswersConfig

log = logging.getLogger(__name__)
_MAX_RETRY_AFTER = 3600.0
_FormData = Sequence[tuple[str, str]] | dict[str, str]


class LibAnswersError(Exception):
    """A call to LibAnswers that did not succeed; str() is a sentence for a librarian."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RetryableError(LibAnswersError):
    """Worth trying again later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 maybe_sent: bool = False) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentError(LibAnswersError):
    """Trying again will not help until something is fixed."""


class LoginError(PermanentError):
    """LibAnswers refused the client id and secret (or the app's access)."""


class LoginUnavailable(RetryableError):
    """The login could not be done just now (LibAnswers busy, slow or unreachable).

    The call that needed the token was not sent, so nothing of it reached LibAnswers."""


@dataclass(frozen=True, slots=True)
class CreatedTicket:
    id: str | None
    url: str | None


class LibAnswersApi:
    """One site's API, over one httpx.AsyncClient. Use `async with` or call `aclose()`."""

    def __init__(self, cfg: LibAnswersConfig, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self._monotonic = monotonic
        self._client = httpx.AsyncClient(
            base_url=cfg.api_base, follow_redirects=False,
            timeout=httpx.Timeout(cfg.timeout_seconds, connect=cfg.connect_timeout_seconds),
            headers={"Accept": "application/json", "User-Agent": "libchat-tui"},
        )
        self._token: str | None = None
        self._expires_at = 0.0
        self._login_lock = asyncio.Lock()
        #: Why the last login failed (a sentence for the desk bar); None once a login works.
        self.login_problem: str | None = None

    async def __aenter__(self) -> LibAnswersApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- login -----------------------------------------------------------------------

    async def login(self, *, force: bool = False) -> float:
        """Make sure a token is held; return the seconds it is still good for."""
        async with self._login_lock:
            if force or self._token is None or self._monotonic() >= self._expires_at:
                await self._fetch_token()
            return self._expires_at - self._monotonic()

    async def _fetch_token(self) -> None:
        self._token = None
        try:
            await self._request_token()
        except LibAnswersError as exc:
            self.login_problem = str(exc)
            raise
        self.login_problem = None

    async def _request_token(self) -> None:
        """Log in. Trouble LibAnswers may get over by itself is a `LoginUnavailable`; a refusal,
        or an answer that cannot be a login, is a `LoginError`."""
        form = {"client_id": self.cfg.client_id, "client_secret": self.cfg.client_secret.reveal(),
                "grant_type": "client_credentials"}
        try:
            resp = await self._client.post("/oauth/token", data=form)
        except httpx.HTTPError as exc:
            failed = _transport_error(exc, self.cfg.timeout_seconds, self.redact, may_arrive=False)
            if isinstance(failed, RetryableError):
                raise LoginUnavailable(_login(failed.message)) from None
            raise LoginError(_login(failed.message)) from None
        code = resp.status_code
        if code in (400, 401, 403):
            raise LoginError(f"LibAnswers refused the API login for client {self.cfg.client_id}: "
                             f"{self._message(resp)}. Check client_id and the secret "
                             "(LibAnswers admin: API > Authentication).", status=code)
        if code == 429 or code == 408 or code >= 500:
            wait = _retry_after(resp.headers.get("Retry-After"))
            said = (f"LibAnswers asks us to slow down (429){_in(wait)}" if code == 429 else
                    f"LibAnswers had a problem ({code}): {self._message(resp)}{_in(wait)}")
            raise LoginUnavailable(_login(said), status=code, retry_after=wait)
        if code >= 300:
            raise LoginError(_login(f"LibAnswers answered {code}: {self._message(resp)}; check site in "
                                    "[libanswers]"), status=code)
        try:
            body = resp.json()
        except ValueError:
            raise LoginUnavailable(_login(f"LibAnswers answered {code} with something that is not JSON"),
                                   status=code) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise LoginError("LibAnswers answered the login without an access token.", status=code)
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        lifetime = lifetime if 0 < lifetime < 10**7 else 3600.0
        self._token = token
        self._expires_at = self._monotonic() + lifetime - min(60.0, lifetime * 0.1)
        log.info("logged in to LibAnswers %s (token good for %.0f s)", self.cfg.site, lifetime)

    # --- calls -----------------------------------------------------------------------

    async def queues(self) -> list[dict[str, Any]]:
        """The ticket queues this API client may use (id and name)."""
        return _listing(await self._call("GET", "/queues"), "queues")

    async def ticket_create(self, *, question: str, details: str, name: str, email: str,
                            ua: str | None = None, ip: str | None = None) -> CreatedTicket:
        """Put a ticket in the configured queue; return its id and URL."""
        if self.cfg.queue_id is None:
            raise PermanentError("No ticket queue is set: add queue_id to [libanswers] "
                                 "(LibAnswers admin: Queues).")
        form = {"quid": str(self.cfg.queue_id), "pquestion": question, "pdetails": details,
                "pname": name, "pemail": email}
        form |= {k: v for k, v in (("ua", ua), ("ip", ip)) if v}
        body = await self._call("POST", "/ticket/create", data=form)
        data = body if isinstance(body, dict) else {}
        url = data.get("ticketUrl") or data.get("url")
        ticket_id = data.get("ticketId") or data.get("id")
        if ticket_id is None and isinstance(url, str):
            found = re.search(r"(?:qid=|/)(\d+)(?:\D*$)", url)
            ticket_id = found.group(1) if found else None
        return CreatedTicket(None if ticket_id is None else str(ticket_id),
                             url if isinstance(url, str) else None)

    async def formfields(self, dataset_id: int) -> list[FormField]:
        """The questions of a Reference Analytics dataset, with their option ids."""
        body = await self._call("GET", f"/ra/dataset/{dataset_id}/formfields")
        try:
            return [FormField.from_api(raw) for raw in _listing(body, "fields", "formfields")]
        except ValueError as exc:
            raise PermanentError(str(exc)) from None

    async def create_transaction(self, dataset_id: int, form: Sequence[tuple[str, str]]) -> str | None:
        """Record one transaction; return its id when LibAnswers says it."""
        body = await self._call("POST", f"/ra/dataset/{dataset_id}/transaction", data=form)
        data = body.get("data", body) if isinstance(body, dict) else body
        if isinstance(data, list) and data:
            data = data[0]
        found = data.get("id") or data.get("transaction_id") if isinstance(data, dict) else None
        return None if found is None else str(found)

    async def transactions(self, dataset_id: int, start: date, end: date) -> list[dict[str, Any]]:
        """Transactions recorded between two days (at most a month apart, as the API allows)."""
        if not 0 <= (end - start).days <= 31:
            raise ValueError("LibAnswers lists at most one month of transactions per call")
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("date_range[]", start.isoformat()), ("date_range[]", end.isoformat())]
        return _listing(await self._call("GET", f"/ra/dataset/{dataset_id}/transactions", params=params),
                        "transactions")

    async def _call(self, method: str, path: str, *, data: _FormData | None = None,
                    params: list[tuple[str, str | int | float | bool | None]] | None = None) -> Any:
        await self.login()
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token}"}
            try:
                resp = await self._client.request(method, path, data=_form(data), params=params,
                                                  headers=headers)
            except httpx.HTTPError as exc:
                raise _transport_error(exc, self.cfg.timeout_seconds, self.redact,
                                       may_arrive=method == "POST") from None
            if resp.status_code == 401 and attempt == 1:
                log.info("LibAnswers refused the token for %s %s; logging in again", method, path)
                await self.login(force=True)
                continue
            if resp.status_code != 401:
                self.login_problem = None  # the token was taken: the login works
            return self._result(resp, method)
        raise AssertionError("unreachable")

    # --- answers ---------------------------------------------------------------------

    def _result(self, resp: httpx.Response, method: str) -> Any:
        code = resp.status_code
        if code == 429:
            wait = _retry_after(resp.headers.get("Retry-After"))
            raise RetryableError(f"LibAnswers asks us to slow down (429){_in(wait)}", status=code,
                                 retry_after=wait)
        if code >= 500 or code == 408:
            wait = _retry_after(resp.headers.get("Retry-After"))
            raise RetryableError(f"LibAnswers had a problem ({code}): {self._message(resp)}{_in(wait)}",
                                 status=code, retry_after=wait,
                                 maybe_sent=method == "POST" and code in (500, 504, 408))
        if code == 401:  # even a fresh token: the app's access, a login problem until one works
            self.login_problem = f"LibAnswers refused the API login twice: {self._message(resp)}"
            raise LoginError(self.login_problem, status=code)
        if code >= 400:
            raise PermanentError(self._message(resp), status=code)
        if code >= 300:
            raise PermanentError(f"LibAnswers redirected the call ({code}); check site in [libanswers]",
                                 status=code)
        body = self._json(resp, method)
        if isinstance(body, dict) and body.get("error"):
            raise PermanentError(self._message(resp), status=code)
        return body

    def _json(self, resp: httpx.Response, method: str) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise RetryableError(f"LibAnswers answered {resp.status_code} with something that is not JSON",
                                 status=resp.status_code, maybe_sent=method == "POST") from None

    def _message(self, resp: httpx.Response) -> str:
        """LibAnswers' own words for an error, without the secret or the token."""
        text = ""
        try:
            body = resp.json()
        except ValueError:
            text = resp.text.strip()
        else:
            text = _error_text(body)
        return self.redact(text or resp.reason_phrase or f"HTTP {resp.status_code}")[:400]

    def redact(self, text: str) -> str:
        """`text` with the secret and the token blanked out, as typed or URL-encoded."""
        for hidden in (self.cfg.client_secret.reveal(), self._token):
            if hidden:
                text = _spelled(hidden).sub("***", text)
        return text


def _form(data: _FormData | None) -> dict[str, str | list[str]] | None:
    """Form pairs as httpx takes them: a repeated name (`field[12][]`) becomes a list."""
    if data is None or isinstance(data, dict):
        return data  # type: ignore[return-value]
    out: dict[str, str | list[str]] = {}
    for key, value in data:
        have = out.get(key)
        out[key] = value if have is None else [*([have] if isinstance(have, str) else have), value]
    return out


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error_description", "error", "message", "errors", "detail"):
            if body.get(key):
                return _error_text(body[key])
        return ""
    if isinstance(body, list):
        return "; ".join(filter(None, (_error_text(b) for b in body)))
    return str(body).strip()


def _listing(body: Any, *keys: str) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        for key in (*keys, "data"):
            if isinstance(body.get(key), list):
                body = body[key]
                break
    if not isinstance(body, list):
        raise PermanentError(f"LibAnswers answered with an unexpected shape ({type(body).__name__})")
    return [b for b in body if isinstance(b, dict)]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(0.0, (moment - datetime.now(UTC)).total_seconds()), _MAX_RETRY_AFTER)


def _in(seconds: float | None) -> str:
    return "" if seconds is None else f"; it says to wait {seconds:.0f} s"


def _login(what: str) -> str:
    return f"could not log in to LibAnswers: {what}"


def _spelled(secret: str) -> re.Pattern[str]:
    """Matches `secret` as typed or URL-encoded (`%2B`/`%2b`; a space as `+` in a form body,
    `%20` in a URL), so a request that LibAnswers echoes back cannot show it."""
    parts = []
    for char in secret:
        ways = [re.escape(char)]
        if not (char.isascii() and (char.isalnum() or char in "-._~")):  # what URL encoding escapes
            ways.append("(?i:" + "".join(f"%{byte:02X}" for byte in char.encode()) + ")")
        if char == " ":
            ways.append(r"\+")
        parts.append(f"(?:{'|'.join(ways)})")
    return re.compile("".join(parts))


def _transport_error(exc: httpx.HTTPError, timeout: float, redact: Callable[[str], str], *,
                     may_arrive: bool) -> LibAnswersError:
    """Network trouble as a RetryableError; `maybe_sent` when the request may have arrived
    and could have made something (`may_arrive`: a POST of the call itself)."""
    reason = redact(str(exc).strip() or type(exc).__name__)
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return RetryableError(f"LibAnswers could not be reached (no connection within {timeout:.0f} s)")
    if isinstance(exc, httpx.ConnectError):
        return RetryableError(f"LibAnswers could not be reached ({reason})")
    if isinstance(exc, httpx.TimeoutException):
        return RetryableError(f"LibAnswers did not answer within {timeout:g} s", maybe_sent=may_arrive)
    if isinstance(exc, httpx.TransportError):
        return RetryableError(f"the connection to LibAnswers broke ({reason})", maybe_sent=may_arrive)
    return PermanentError(f"the call to LibAnswers could not be made ({reason})")
