"""Domain events: what changed in the table (users, ideas) and in the skills catalogue, as
versioned events on the stage's EventBridge bus (docs/events.md is the contract).

``domain`` turns a DynamoDB Streams record into at most one event, ``bus`` publishes events,
``stats`` is the consumer that keeps the live statistics, ``skill_links`` the one that keeps
the ideas' skill recommendations. ``SUBSCRIPTIONS`` lists every
consumer of the bus once: the CDK stack builds a rule, a queue and a dead-letter queue per
entry from it, and ``make dev`` the same in its emulation, so the two cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``source`` of every event the service publishes.
SOURCE = "skills-ideas"
#: Version of the events' ``detail`` shape; docs/event-schemas.json describes version 1.
EVENT_VERSION = 1

USER_REGISTERED = "UserRegistered"
USER_DELETED = "UserDeleted"
IDEA_CREATED = "IdeaCreated"
IDEA_UPDATED = "IdeaUpdated"
IDEA_DELETED = "IdeaDeleted"
SKILL_CATALOGUE_CHANGED = "SkillCatalogueChanged"

TABLE_EVENTS: tuple[str, ...] = (USER_REGISTERED, USER_DELETED, IDEA_CREATED, IDEA_UPDATED, IDEA_DELETED)
EVENT_TYPES: tuple[str, ...] = (*TABLE_EVENTS, SKILL_CATALOGUE_CHANGED)


@dataclass(frozen=True)
class Subscription:
    """One consumer of the bus: a rule matching ``detail_types`` from ``SOURCE``, delivering to
    a queue that ``function`` reads in batches (partial failures reported), with a dead-letter
    queue for events that keep failing."""

    name: str
    function: str
    detail_types: tuple[str, ...]
    #: Receives of one event before it moves to the dead-letter queue.
    max_receive_count: int = 5
    #: The consumer may put a message on its own queue to continue a long job in bounded steps
    #: (the queue's URL in ``queue_url_variable``, and the right to send to it).
    continues: bool = False

    @property
    def pattern(self) -> dict:
        """The EventBridge event pattern of the rule."""
        return {"source": [SOURCE], "detail-type": list(self.detail_types)}

    @property
    def queue_url_variable(self) -> str:
        """The environment variable holding the subscription's queue URL (``continues``)."""
        return f"{self.name.upper()}_QUEUE_URL"


#: What keeps an idea's skill links fresh (``skill_links``): every change of an idea, and every
#: change of the catalogue. Not ``UserDeleted``: a deleted user's ideas are deleted one by one,
#: and each deletion is an ``IdeaDeleted``.
RECOMMENDATION_EVENTS: tuple[str, ...] = (IDEA_CREATED, IDEA_UPDATED, IDEA_DELETED, SKILL_CATALOGUE_CHANGED)

SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("stats", "stats_consumer", TABLE_EVENTS),
    Subscription("recommendations", "recommendations_consumer", RECOMMENDATION_EVENTS, continues=True),
)
#: The function that turns the table's stream into events.
STREAM_FUNCTION = "events"
