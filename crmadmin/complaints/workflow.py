"""The complaint process of the handbooks as explicit states and moves: which move leads where, and who may make it.

Pure rules, no Flask and no database: the screens offer exactly the moves `allowed` gives, and `refusal` is what
`apply` asks again before it changes anything, so a move that is not offered is also not accepted.
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..auth.permissions import ASSIGN_COMPLAINTS, SUPERVISE_COMPLAINTS, perm

EDIT = perm("complaints", "edit")
OPEN = ("received", "assessed", "assigned", "solution_drafted", "in_progress", "result_reported", "reopened")
FINISHED = ("closed", "rejected")
WORKING = ("assigned", "solution_drafted", "in_progress")  # someone is responsible and working on it


@dataclass(frozen=True)
class Move:
    name: str
    sources: tuple[str, ...]
    target: str | None  # None: the complaint stays in its state (a reassignment, a reclassification)
    permission: str
    fields: tuple[str, ...] = ()  # what the move's form asks; `required` of them must be filled
    required: tuple[str, ...] = ()
    major_needs_supervisor: bool = False  # closing or rejecting a major complaint is a supervisor's decision
    hint: str = ""

    def target_from(self, status: str) -> str:
        return self.target or status


MOVES: dict[str, Move] = {m.name: m for m in (
    Move("assess", ("received",), "assessed", EDIT, ("type", "severity", "urgency", "note"),
         hint=_l("Initial assessment: the complaint is founded; confirm its type, severity and urgency.")),
    Move("reject", ("received", "assessed", "reopened"), "rejected", EDIT, ("note",), ("note",),
         major_needs_supervisor=True,
         hint=_l("The complaint is assessed as unfounded. Give the reason: the customer will be told.")),
    Move("assign", ("assessed", "reopened"), "assigned", ASSIGN_COMPLAINTS, ("assignee", "department", "note"),
         ("assignee",), hint=_l("Make a person (and a department) responsible for solving it.")),
    Move("reassign", WORKING, None, ASSIGN_COMPLAINTS, ("assignee", "department", "note"), ("assignee",),
         hint=_l("Hand the complaint to another responsible person; its state stays as it is.")),
    Move("reclassify", OPEN[1:], None, EDIT, ("type", "severity", "urgency", "note"), ("note",),
         hint=_l("Change the type, severity or urgency; the due times follow. Say why.")),
    Move("draft", ("assigned",), "solution_drafted", EDIT, ("solution", "note"), ("solution",),
         hint=_l("Write down the solution proposed to the customer.")),
    Move("start", ("solution_drafted",), "in_progress", EDIT, ("note",),
         hint=_l("The solution is being carried out.")),
    Move("report", ("in_progress",), "result_reported", EDIT, ("action_taken", "customer_feedback", "note"),
         ("action_taken",), hint=_l("Tell the customer what was done and ask their opinion of the result.")),
    Move("close", ("result_reported",), "closed", EDIT, ("customer_feedback", "satisfaction_score", "note"),
         ("customer_feedback",), major_needs_supervisor=True,
         hint=_l("The customer's opinion of the result and their satisfaction score (1–5) close the complaint.")),
    Move("reopen", FINISHED, "reopened", SUPERVISE_COMPLAINTS, ("note",), ("note",),
         hint=_l("The customer is not satisfied, or the complaint was closed too early. Say why.")),
)}


def refusal(move: Move, status: str, severity: str, can, new_severity: str | None = None) -> str | None:
    """Why this user may not make `move` on a complaint in `status` (None: they may); `can(permission)` asks them."""
    if status not in move.sources:
        return "state"
    if not can(move.permission):
        return "permission"
    downgrade = severity == "major" and new_severity not in (None, "major")
    if (move.major_needs_supervisor and severity == "major" or downgrade) and not can(SUPERVISE_COMPLAINTS):
        return "supervisor"
    return None


def allowed(status: str, severity: str, can) -> list[Move]:
    """The moves to offer on a complaint in `status`, in process order."""
    return [m for m in MOVES.values() if refusal(m, status, severity, can) is None]
