"""The patron simulator's plans, without sockets: seeded, varied and realistic."""

from __future__ import annotations

import random
import re

import pytest

from libchat_tui.protocol import LIMITS, is_valid_email
from libchat_tui.simulator.data import SLOTS, TOPICS
from libchat_tui.simulator.patrons import (
    Behaviour,
    Simulator,
    plan_patron,
    plan_patrons,
    reply_to,
)


def test_a_fixed_seed_sends_every_kind_of_patron_early() -> None:
    for seed in (0, 1, 42, 2026):
        seen = {plan.behaviour for plan in plan_patrons(seed, 60)}
        assert seen == set(Behaviour), f"seed {seed} never produced {set(Behaviour) - seen}"


def test_the_same_seed_gives_the_same_patrons_and_another_seed_does_not() -> None:
    assert plan_patrons(7, 25) == plan_patrons(7, 25)
    assert plan_patrons(7, 25) != plan_patrons(8, 25)


def test_plan_patron_continues_the_same_sequence_as_plan_patrons() -> None:
    rng = random.Random(99)
    one_by_one = [plan_patron(rng, i) for i in range(10)]
    assert one_by_one == plan_patrons(99, 10)


def test_behaviours_can_be_restricted() -> None:
    plans = plan_patrons(3, 20, behaviours=[Behaviour.GIVES_UP_WAITING])
    assert {p.behaviour for p in plans} == {Behaviour.GIVES_UP_WAITING}


def test_the_question_bank_is_large_and_covers_the_usual_desk_topics() -> None:
    templates = [q for topic in TOPICS.values() for q in topic.questions]
    assert len(templates) >= 40
    assert len(set(templates)) == len(templates)
    for expected in ("hours", "find_book", "databases", "citations", "ill", "printing", "rooms",
                     "renewals", "reserves", "thesis", "research", "accessibility"):
        assert expected in TOPICS
    for topic in TOPICS.values():
        assert topic.follow_ups, topic
        for text in (*topic.questions, *topic.follow_ups, *(a for _, a in topic.answers)):
            fields = set(re.findall(r"{(\w+)}", text))
            assert fields <= {*SLOTS, "email"}, text


def test_planned_patrons_are_valid_for_the_protocol() -> None:
    plans = plan_patrons(11, 300)
    for plan in plans:
        assert 0 < len(plan.name) <= LIMITS["name"]
        assert 0 < len(plan.question.strip()) <= LIMITS["question"]
        assert "{" not in plan.question and "}" not in plan.question
        assert plan.email is None or is_valid_email(plan.email)
        assert plan.email is None or plan.email.isascii()
        assert is_valid_email(plan.ticket_email)
        assert plan.follow_ups and plan.thanks
        assert 1 <= plan.drop_at <= plan.exchanges
        assert plan.arrival_delay > 0 and plan.patience > 0
    assert len({p.question for p in plans}) > 100  # varied, not one question repeated
    assert any(p.email is None for p in plans) and any(p.email for p in plans)
    assert len({p.topic for p in plans}) == len(TOPICS)


def test_patrons_who_give_up_have_less_patience_than_the_rest() -> None:
    plans = plan_patrons(5, 200)
    quitters = [p.patience for p in plans if p.behaviour is Behaviour.GIVES_UP_WAITING]
    stayers = [p.patience for p in plans if p.behaviour is not Behaviour.GIVES_UP_WAITING]
    assert max(quitters) < min(stayers)


def test_arrivals_average_out_near_the_requested_mean() -> None:
    plans = plan_patrons(1, 400, arrival_mean_seconds=30.0)
    mean = sum(p.arrival_delay for p in plans[1:]) / (len(plans) - 1)
    assert 20.0 < mean < 40.0
    assert plans[0].arrival_delay <= 3.0  # a new desk sees its first patron within seconds


def test_replies_fit_what_the_librarian_asked() -> None:
    plan = next(p for p in plan_patrons(4, 50) if p.email)
    rng = random.Random(0)
    assert plan.email in reply_to(plan, "Could you give me your e-mail address?", 0, rng)
    assert "I'm a" in reply_to(plan, "Are you a student or staff?", 0, rng)
    assert reply_to(plan, "Here you go: https://library.example.edu/guide", 0, rng).startswith(
        ("Thanks", "Okay"))
    assert reply_to(plan, "Sure.", 0, rng) == plan.follow_ups[0]
    anonymous = next(p for p in plan_patrons(4, 50) if p.email is None)
    assert "rather not" in reply_to(anonymous, "What's your email?", 0, rng)


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Simulator("ws://127.0.0.1:1", seed=1, speed=0)


def test_a_book_is_asked_for_with_its_own_author() -> None:
    """The demo never asks for "The Souls of Black Folk by Thomas Kuhn" (issue 22)."""
    import random

    from libchat_tui.simulator import data
    from libchat_tui.simulator.patrons import plan_patron

    for index in range(300):
        question = plan_patron(random.Random(index), index).question
        for title, author in data.AUTHOR_OF.items():
            if f"{title} by " in question:
                assert f"{title} by {author}?" in question, question
