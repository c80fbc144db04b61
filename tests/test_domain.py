"""The lifecycle table: every legal transition, every illegal one refused by name."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from libchat_tui.domain import (
    PATRON,
    SYSTEM,
    TRANSITIONS,
    Action,
    Chat,
    ChatState,
    IllegalTransition,
    librarian,
)

T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
ANA = librarian("ana", "Ana")


def chat(state: ChatState, owner: bool = True) -> Chat:
    return Chat(1, "Maya", None, "q", state, T0, T0, owner=ANA if owner else None)


def test_the_table_matches_the_design() -> None:
    w, a, r, e, d, c = (ChatState(s) for s in
                        ("waiting", "active", "reconnecting", "ended", "disconnected", "closed"))
    assert {
        (w, Action.ACCEPT): a,
        (w, Action.END_BY_PATRON): e,
        (w, Action.CONNECTION_LOST): r,
        (a, Action.END_BY_LIBRARIAN): e,
        (a, Action.END_BY_PATRON): e,
        (a, Action.CONNECTION_LOST): r,
        (r, Action.RESUME): a,
        (r, Action.GRACE_EXPIRED): d,
        (r, Action.END_BY_LIBRARIAN): e,
        (r, Action.END_BY_PATRON): e,
        (e, Action.CLOSE): c,
        (d, Action.CLOSE): c,
        # the team desk (issue 15)
        (a, Action.TRANSFER): w,
        (a, Action.TAKE_OVER): a,
        (w, Action.DISMISS): c,
        (r, Action.DISMISS): c,
        (w, Action.BLOCK): e,
        (a, Action.BLOCK): e,
        (r, Action.BLOCK): e,
    } == TRANSITIONS


@pytest.mark.parametrize(("state", "action"), sorted(itertools.product(ChatState, Action)))
def test_every_pair_is_either_legal_or_refused_by_name(state: ChatState, action: Action) -> None:
    before = chat(state)
    if (state, action) in TRANSITIONS:
        after, change = before.apply(action, ANA, T0)
        assert change.from_state is state and change.to_state is after.state
        assert change.at == T0 and change.by == ANA
        assert after.last_change == change
    else:
        with pytest.raises(IllegalTransition) as info:
            before.apply(action, ANA, T0)
        assert state.value in info.value.message and action.value in info.value.message
        assert info.value.code == "illegal_transition"


def test_accept_sets_owner_and_resume_returns_to_waiting_without_owner() -> None:
    accepted, _ = chat(ChatState.WAITING, owner=False).apply(Action.ACCEPT, ANA, T0)
    assert accepted.owner == ANA and accepted.accepted_at == T0
    dropped, _ = chat(ChatState.WAITING, owner=False).apply(Action.CONNECTION_LOST, PATRON, T0)
    back, _ = dropped.apply(Action.RESUME, PATRON, T0)
    assert back.state is ChatState.WAITING


def test_grace_expiry_offers_ticket_and_ends() -> None:
    gone, change = chat(ChatState.RECONNECTING).apply(Action.GRACE_EXPIRED, SYSTEM, T0)
    assert gone.state is ChatState.DISCONNECTED and gone.ticket_offered
    assert gone.ended_at == T0 and change.by.kind == "system"


def test_wire_round_trip() -> None:
    ended, _ = chat(ChatState.ACTIVE).apply(Action.END_BY_LIBRARIAN, ANA, T0)
    assert Chat.from_wire(ended.to_wire()) == ended


def test_the_team_desk_rules_are_answered_once_by_refusal() -> None:
    from datetime import timedelta

    from libchat_tui.domain import Act, TransferOffer, may, refusal

    active = chat(ChatState.ACTIVE)
    assert may(active, Act.TRANSFER, "ana") and not may(active, Act.TRANSFER, "ben")
    assert not may(chat(ChatState.WAITING, owner=False), Act.TRANSFER, "ana")
    offer = TransferOffer("ben", "Ben", "ana", "Ana", "", T0, T0 + timedelta(seconds=60))
    offered = Chat(1, "Maya", None, "q", ChatState.ACTIVE, T0, T0, owner=ANA, transfer=offer)
    assert may(offered, Act.ANSWER_TRANSFER, "ben") and not may(offered, Act.ANSWER_TRANSFER, "ana")
    assert may(offered, Act.WITHDRAW_TRANSFER, "ana") and not may(offered, Act.WITHDRAW_TRANSFER, "ben")
    refused = refusal(offered, Act.TRANSFER, "ana")
    assert refused is not None and refused.code == "transfer_pending"
    assert not may(active, Act.WITHDRAW_TRANSFER, "ana")  # nothing on offer
    assert may(chat(ChatState.WAITING, owner=False), Act.DISMISS, "ben")
    assert not may(active, Act.DISMISS, "ana")  # accepted: end it instead
    assert may(active, Act.BLOCK, "ana") and not may(active, Act.BLOCK, "ben")
    assert may(chat(ChatState.WAITING, owner=False), Act.BLOCK, "ben")
    taken, _change = offered.apply(Action.TAKE_OVER, librarian("ben", "Ben"), T0)
    assert taken.owner is not None and taken.owner.id == "ben" and taken.transfer is None
