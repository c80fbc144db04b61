"""The chat lifecycle and the things a desk holds, with no I/O.

One transition table (`TRANSITIONS`) says which action moves a chat from which state to
which. Every transition records when (UTC) and by whom (`Actor`). Anything else raises
`IllegalTransition`, which names the state and the attempted action.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

# Re-exported: the domain is one import for its users (`from .domain import Chat, Message, iso`).
from .timestamps import iso as iso
from .timestamps import parse_ts as parse_ts
from .timestamps import required_ts as _ts
from .timestamps import utcnow as utcnow
from .transcript import Message as Message
from .transcript import Note as Note
from .transcript import Sender as Sender


class ChatState(StrEnum):
    """Where a chat is in its life."""

    WAITING = "waiting"
    ACTIVE = "active"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class Action(StrEnum):
    """Things that happen to a chat and may change its state."""

    ACCEPT = "accept"
    END_BY_LIBRARIAN = "end_by_librarian"
    END_BY_PATRON = "end_by_patron"
    CONNECTION_LOST = "connection_lost"
    RESUME = "resume"
    GRACE_EXPIRED = "grace_expired"
    CLOSE = "close"
    TRANSFER = "transfer"  # the owner sends an active chat back to a department's queue
    TAKE_OVER = "take_over"  # a colleague accepts the chat offered to them: the owner changes
    DISMISS = "dismiss"  # a waiting chat is spam: closed at once, with a reason
    BLOCK = "block"  # the patron is blocked: their chat ends


W, A, R = ChatState.WAITING, ChatState.ACTIVE, ChatState.RECONNECTING
E, D, C = ChatState.ENDED, ChatState.DISCONNECTED, ChatState.CLOSED

#: (state, action) -> new state. RESUME from RECONNECTING goes back to ACTIVE when the
#: chat has an owner and to WAITING when nobody had accepted it yet (see `next_state`).
TRANSITIONS: dict[tuple[ChatState, Action], ChatState] = {
    (W, Action.ACCEPT): A,
    (W, Action.END_BY_PATRON): E,  # the patron gave up waiting: a missed chat
    (W, Action.CONNECTION_LOST): R,
    (A, Action.END_BY_LIBRARIAN): E,
    (A, Action.END_BY_PATRON): E,
    (A, Action.CONNECTION_LOST): R,
    (R, Action.RESUME): A,
    (R, Action.GRACE_EXPIRED): D,
    (R, Action.END_BY_LIBRARIAN): E,
    (R, Action.END_BY_PATRON): E,
    (E, Action.CLOSE): C,
    (D, Action.CLOSE): C,
    (A, Action.TRANSFER): W,
    (A, Action.TAKE_OVER): A,
    (W, Action.DISMISS): C,
    (R, Action.DISMISS): C,  # a waiting patron who dropped (never accepted: see `refusal`)
    (W, Action.BLOCK): E,
    (A, Action.BLOCK): E,
    (R, Action.BLOCK): E,
}

#: States shown on the dashboard (everything but closed).
OPEN_STATES = frozenset({W, A, R, E, D})
#: States in which the chat is over: the after-chat work is done and Close is allowed.
FINISHED_STATES = frozenset({E, D})
#: States in which the patron is connected and may talk (reconnecting: they are not).
PATRON_TALKS = frozenset({W, A})
#: States in which the chat's owner may write to the patron (who may be reconnecting).
LIBRARIAN_TALKS = frozenset({A, R})


class DomainError(Exception):
    """A request the desk refuses. `code` is the protocol error code."""

    code = "refused"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0])


class IllegalTransition(DomainError):
    """An action that the chat's current state does not allow."""

    code = "illegal_transition"

    def __init__(self, chat_id: int, state: ChatState, action: Action) -> None:
        super().__init__(
            f"Chat {chat_id} is {state.value}; it cannot take the action "
            f"'{action.value}' ({describe_refusal(state, action)})."
        )
        self.state = state
        self.action = action


def describe_refusal(state: ChatState, action: Action) -> str:
    """A human reason for a refused action, for error messages."""
    if action is Action.CLOSE:
        return "only an ended or disconnected chat can be closed"
    if action is Action.ACCEPT:
        return "only a waiting chat can be accepted"
    if state in FINISHED_STATES or state is C:
        return "the chat is already over"
    return "not allowed in this state"


def patron_can_talk(state: ChatState | str) -> bool:
    """May the patron send messages (and typing) in a chat in this state?"""
    return ChatState(state) in PATRON_TALKS


class Act(StrEnum):
    """What a librarian may ask to do with a chat.

    `refusal()` is the one answer to "may this librarian do this now": the desk enforces
    it, and the console's keys, buttons, footer and palette ask it before offering.
    """

    ACCEPT = "accept"
    SEND = "send"  # and the typing signal
    END = "end"
    CLOSE = "close"
    NOTE = "note"
    TICKET = "ticket"
    ANALYTICS = "analytics"
    EXPORT = "export"
    TRANSFER = "transfer"  # offer to a colleague, or send to a department
    ANSWER_TRANSFER = "answer_transfer"  # accept or decline a transfer offered to you
    WITHDRAW_TRANSFER = "withdraw_transfer"
    DISMISS = "dismiss"
    BLOCK = "block"
    EDIT_PATRON = "edit_patron"  # correct the patron's name or e-mail


#: Acts that change the chat's state, and the transition each one takes.
_ACT_TRANSITIONS = {Act.ACCEPT: Action.ACCEPT, Act.END: Action.END_BY_LIBRARIAN, Act.CLOSE: Action.CLOSE,
                    Act.DISMISS: Action.DISMISS, Act.BLOCK: Action.BLOCK,
                    Act.ANSWER_TRANSFER: Action.TAKE_OVER}
#: Acts only the chat's owner may take.
_OWNER_ONLY = frozenset({Act.SEND, Act.END, Act.TRANSFER, Act.WITHDRAW_TRANSFER})


def refusal(chat: Chat, act: Act, librarian_id: str) -> DomainError | None:
    """Why `librarian_id` may not `act` on `chat` now, or None if they may.

    One ownership rule: sending, ending and transferring belong to the librarian who
    accepted the chat; anyone on the desk may accept a waiting chat, close a finished
    one, and do the after-chat work (notes, tickets, Reference Analytics, exports,
    correcting the patron's name) on any chat. A transfer offered to a colleague is
    theirs alone to accept or decline, and the owner's to withdraw; nothing else about
    the chat changes while it is on offer but what the owner does. Dismissing is for
    chats nobody has accepted; blocking, for the owner's chat or one nobody has.
    """
    action = _ACT_TRANSITIONS.get(act)
    if action is not None and (chat.state, action) not in TRANSITIONS:
        if act is Act.ACCEPT and chat.owner is not None:
            who = "you" if chat.owner.id == librarian_id else chat.owner.name
            return DomainError(f"Chat {chat.id} was already accepted by {who}.", "already_accepted")
        return IllegalTransition(chat.id, chat.state, action)
    if act is Act.SEND and chat.state not in LIBRARIAN_TALKS:
        reason = "accept it first" if chat.state is W else "the chat is over"
        return DomainError(f"Chat {chat.id} is {chat.state.value}; {reason}.", "illegal_transition")
    if act in _OWNER_ONLY and (chat.owner is None or chat.owner.id != librarian_id):
        owner = "nobody has accepted it" if chat.owner is None else f"it belongs to {chat.owner.name}"
        return DomainError(f"Chat {chat.id} is not yours: {owner}.", "not_owner")
    offer = chat.transfer
    if act is Act.TRANSFER:
        if chat.state is not A:
            return DomainError(f"Chat {chat.id} is {chat.state.value}; only an active chat can be "
                               "transferred.", "illegal_transition")
        if offer is not None:
            return DomainError(f"Chat {chat.id} is already offered to {offer.to_name}; withdraw "
                               "that first.", "transfer_pending")
    if act is Act.ANSWER_TRANSFER and (offer is None or offer.to_id != librarian_id):
        return DomainError(f"Chat {chat.id} is not offered to you.", "no_transfer")
    if act is Act.WITHDRAW_TRANSFER and offer is None:
        return DomainError(f"Chat {chat.id} is not on offer.", "no_transfer")
    if act is Act.DISMISS and chat.owner is not None:
        return DomainError(f"Chat {chat.id} was accepted by {chat.owner.name}; end it instead.",
                           "illegal_transition")
    if act is Act.BLOCK and chat.owner is not None and chat.owner.id != librarian_id:
        return DomainError(f"Chat {chat.id} is not yours: it belongs to {chat.owner.name}.", "not_owner")
    return None


def may(chat: Chat, act: Act, librarian_id: str) -> bool:
    """True if `refusal()` has nothing against it."""
    return refusal(chat, act, librarian_id) is None


def check(chat: Chat, act: Act, librarian_id: str) -> Chat:
    """Raise the refusal, if any; return the chat for chaining."""
    refused = refusal(chat, act, librarian_id)
    if refused is not None:
        raise refused
    return chat


def next_state(state: ChatState, action: Action, *, has_owner: bool) -> ChatState:
    """The state `action` leads to from `state`; raises KeyError if not allowed."""
    target = TRANSITIONS[(state, action)]
    if action is Action.RESUME and not has_owner:
        return W
    return target


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused something: a librarian (id + display name), the patron, or the system."""

    kind: str  # "librarian" | "patron" | "system"
    id: str = ""
    name: str = ""

    def to_wire(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "name": self.name}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Actor:
        return cls(str(data.get("kind", "system")), str(data.get("id", "")), str(data.get("name", "")))


PATRON = Actor("patron", "", "Patron")
SYSTEM = Actor("system", "", "System")


def librarian(librarian_id: str, name: str) -> Actor:
    return Actor("librarian", librarian_id, name)


@dataclass(frozen=True, slots=True)
class TransferOffer:
    """A chat its owner offered to a colleague, until they answer or it times out."""

    to_id: str
    to_name: str
    from_id: str
    from_name: str
    note: str
    offered_at: datetime
    expires_at: datetime

    def to_wire(self) -> dict[str, Any]:
        return {"to": {"id": self.to_id, "name": self.to_name},
                "from": {"id": self.from_id, "name": self.from_name},
                "note": self.note, "offered_at": iso(self.offered_at), "expires_at": iso(self.expires_at)}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> TransferOffer:
        return cls(str(data["to"]["id"]), str(data["to"]["name"]), str(data["from"]["id"]),
                   str(data["from"]["name"]), str(data.get("note") or ""), _ts(data["offered_at"]),
                   _ts(data["expires_at"]))


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded state change."""

    chat_id: int
    action: Action
    from_state: ChatState
    to_state: ChatState
    at: datetime
    by: Actor

    def to_wire(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "from": self.from_state.value,
            "to": self.to_state.value,
            "at": iso(self.at),
            "by": self.by.to_wire(),
        }


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat as the desk knows it. Immutable: transitions return a new Chat."""

    id: int
    patron_name: str
    patron_email: str | None
    question: str
    state: ChatState
    created_at: datetime
    last_activity: datetime
    owner: Actor | None = None
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    closed_at: datetime | None = None
    last_change: Transition | None = None
    grace_deadline: datetime | None = None
    message_count: int = 0
    note_count: int = 0
    ticket_offered: bool = False
    patron_ticket_id: int | None = None
    ticket_ids: tuple[int, ...] = ()
    analytics: tuple[str, ...] = field(default=())
    page: str | None = None  # the web page the patron asked from (sent by the widget)
    rating: int | None = None  # the patron's 1-5 stars after the chat
    rating_comment: str = ""
    department: str = ""  # the queue the chat is in (or was answered from)
    transfer: TransferOffer | None = None  # offered to a colleague, not yet answered
    browser: str | None = None  # the patron's browser (user agent), sent by the widget
    dismissed: str | None = None  # the reason, if a librarian dismissed the chat
    queued_at: datetime | None = None  # its place in its department's line (None: created_at)
    owner_since: datetime | None = None  # when its owner took it (accepted, or took it over)

    @property
    def queue_key(self) -> tuple[datetime, int]:
        """Where it stands in its department's waiting line: earliest first."""
        return (self.queued_at or self.created_at, self.id)

    def apply(self, action: Action, by: Actor, at: datetime) -> tuple[Chat, Transition]:
        """Take `action`; return the new chat and the transition, or raise IllegalTransition."""
        try:
            target = next_state(self.state, action, has_owner=self.owner is not None)
        except KeyError:
            raise IllegalTransition(self.id, self.state, action) from None
        change = Transition(self.id, action, self.state, target, at, by)
        updates: dict[str, Any] = {"state": target, "last_change": change, "last_activity": at}
        if action is Action.ACCEPT:
            updates.update(owner=by, accepted_at=at, owner_since=at)
        if action is Action.TAKE_OVER:
            updates.update(owner=by, owner_since=at)
        if action is Action.TRANSFER:
            updates.update(owner=None, owner_since=None)
        updates["transfer"] = None  # an offer ends with any change of state or owner
        if target in FINISHED_STATES:
            updates["ended_at"] = at
        if target is C:
            updates["closed_at"] = at
        if target is not R:
            updates["grace_deadline"] = None
        if action is Action.GRACE_EXPIRED:
            updates["ticket_offered"] = True
        return replace(self, **updates), change

    @property
    def wait_seconds(self) -> float | None:
        """How long the patron waited before a librarian accepted (None if never)."""
        if self.accepted_at is None:
            return None
        return (self.accepted_at - self.created_at).total_seconds()

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "patron": {"name": self.patron_name, "email": self.patron_email},
            "question": self.question,
            "state": self.state.value,
            "created_at": iso(self.created_at),
            "last_activity": iso(self.last_activity),
            "owner": None if self.owner is None else self.owner.to_wire(),
            "accepted_at": iso(self.accepted_at),
            "ended_at": iso(self.ended_at),
            "closed_at": iso(self.closed_at),
            "last_change": None if self.last_change is None else self.last_change.to_wire(),
            "grace_deadline": iso(self.grace_deadline),
            "message_count": self.message_count,
            "note_count": self.note_count,
            "ticket_offered": self.ticket_offered,
            "patron_ticket_id": self.patron_ticket_id,
            "ticket_ids": list(self.ticket_ids),
            "analytics": list(self.analytics),
            "page": self.page,
            "rating": self.rating,
            "rating_comment": self.rating_comment,
            "department": self.department,
            "transfer": None if self.transfer is None else self.transfer.to_wire(),
            "browser": self.browser,
            "dismissed": self.dismissed,
            "queued_at": iso(self.queued_at),
            "owner_since": iso(self.owner_since),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Chat:
        change = data.get("last_change")
        owner = data.get("owner")
        return cls(
            id=int(data["id"]),
            patron_name=str(data["patron"]["name"]),
            patron_email=data["patron"].get("email"),
            question=str(data["question"]),
            state=ChatState(data["state"]),
            created_at=_ts(data["created_at"]),
            last_activity=_ts(data["last_activity"]),
            owner=None if owner is None else Actor.from_wire(owner),
            accepted_at=parse_ts(data.get("accepted_at")),
            ended_at=parse_ts(data.get("ended_at")),
            closed_at=parse_ts(data.get("closed_at")),
            last_change=None
            if change is None
            else Transition(
                int(data["id"]),
                Action(change["action"]),
                ChatState(change["from"]),
                ChatState(change["to"]),
                _ts(change["at"]),
                Actor.from_wire(change["by"]),
            ),
            grace_deadline=parse_ts(data.get("grace_deadline")),
            message_count=int(data.get("message_count", 0)),
            note_count=int(data.get("note_count", 0)),
            ticket_offered=bool(data.get("ticket_offered", False)),
            patron_ticket_id=data.get("patron_ticket_id"),
            ticket_ids=tuple(data.get("ticket_ids", ())),
            analytics=tuple(data.get("analytics", ())),
            page=data.get("page"),
            rating=data.get("rating"),
            rating_comment=str(data.get("rating_comment") or ""),
            department=str(data.get("department") or ""),
            transfer=None if not data.get("transfer") else TransferOffer.from_wire(data["transfer"]),
            browser=data.get("browser"),
            dismissed=data.get("dismissed"),
            queued_at=parse_ts(data.get("queued_at")),
            # Chats stored before `owner_since`: their owner took them when they were accepted.
            owner_since=parse_ts(data.get("owner_since")) or parse_ts(data.get("accepted_at")),
        )


def is_missed(chat: Chat) -> bool:
    """A missed chat: over (ended or disconnected) and never accepted by anyone; the
    patron gave up waiting, or dropped while waiting and the grace period ran out."""
    return chat.owner is None and chat.state in FINISHED_STATES
