"""Who is acting and from where: set once per request or CLI command, read when a change is recorded."""
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    actor: str = "system"
    actor_id: int | None = None
    source: str = "system"
    command: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    batch_id: str = field(default_factory=lambda: str(uuid.uuid4()))


_current: ContextVar[Actor | None] = ContextVar("crm_audit_actor", default=None)
# Providers describe the actor lazily (the signed-in user is known only once Flask-Login loads it).
_providers: list = []


def register_provider(provider) -> None:
    """provider() -> Actor or None; the first that answers describes the actor of a change."""
    if provider not in _providers:
        _providers.append(provider)


def bind(actor: Actor):
    """Make `actor` the author of the changes that follow in this context; returns a token for reset()."""
    return _current.set(actor)


def reset(token) -> None:
    _current.reset(token)


def current_actor() -> Actor:
    bound = _current.get()
    if bound is not None:
        return bound
    for provider in _providers:
        actor = provider()
        if actor is not None:
            return actor
    return Actor()  # code outside any request or command: the system, in a batch of its own
