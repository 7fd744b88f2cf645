"""Permission names and the built-in roles: plain strings, granted to roles, asked of users."""
from flask_babel import lazy_gettext as _l

ACTIONS = ("view", "create", "edit", "delete", "export")
RECORD_RESOURCES = ("customers", "transactions", "interactions", "complaints", "campaigns", "surveys")
ADMIN_RESOURCES = ("users", "roles")
RESOURCES = RECORD_RESOURCES + ADMIN_RESOURCES + ("audit",)
# The operation log is read and exported, never written through the panel.
RESOURCE_ACTIONS = {resource: ACTIONS for resource in RECORD_RESOURCES + ADMIN_RESOURCES} | {"audit": ("view", "export")}

RESOURCE_LABELS = {
    "customers": _l("Customers"),
    "transactions": _l("Transactions"),
    "interactions": _l("Interactions"),
    "complaints": _l("Complaints"),
    "campaigns": _l("Campaigns"),
    "surveys": _l("Satisfaction surveys"),
    "users": _l("Users"),
    "roles": _l("Roles"),
    "audit": _l("Operation log"),
}
ACTION_LABELS = {
    "view": _l("View"),
    "create": _l("Create"),
    "edit": _l("Edit"),
    "delete": _l("Delete"),
    "export": _l("Export"),
}


# Rights that are not one of the five actions on a resource.
ASSIGN_OWNERS = "customers.assign"
ASSIGN_COMPLAINTS = "complaints.assign"
SUPERVISE_COMPLAINTS = "complaints.supervise"
IMPORT_RECORDS = "records.import"
MERGE_CUSTOMERS = "customers.merge"
# Saving a customer whose mobile or e-mail another customer has is the other side of merging duplicates: the same
# judgement (are these two files one person?) by the same people (supervisors, administrators). Clerks, who see only
# their own customers, cannot weigh a file they cannot open; a right of its own would need every custom role changed.
SAVE_DUPLICATE_CUSTOMERS = MERGE_CUSTOMERS
ERASE_PERSONAL_DATA = "customers.erase"
# Undoing from the operation log reverts anyone's change: its own right, not implied by the record rights.
# An import's or a merge's undo on its own screen stays with records.import / customers.merge.
UNDO_CHANGES = "audit.undo"
# A saved view (常用筛选) shared with a role shows on that role's users' lists: those who set the team's way of
# working (supervisors, administrators) choose what a role sees first; everyone saves views of their own.
SHARE_VIEWS = "views.share"
SPECIAL_PERMISSIONS = {
    ASSIGN_OWNERS: _l("Assign customers to owners"),
    ASSIGN_COMPLAINTS: _l("Assign complaints to a responsible person"),
    SUPERVISE_COMPLAINTS: _l("Close, reject or downgrade major complaints; reopen complaints"),
    IMPORT_RECORDS: _l("Import customers, transactions and interactions from files, and undo an import"),
    MERGE_CUSTOMERS: _l("Merge duplicate customers, undo a merge, and save a customer whose mobile or e-mail "
                         "another customer has"),
    ERASE_PERSONAL_DATA: _l("Erase a customer's personal data on their request"),
    UNDO_CHANGES: _l("Undo anyone's change from the operation log: a change, a deleted record or a whole batch"),
    SHARE_VIEWS: _l("Share saved views of lists with a role"),
}


def perm(resource: str, action: str) -> str:
    return f"{resource}.{action}"


ALL_PERMISSIONS = tuple(perm(r, a) for r in RESOURCES for a in RESOURCE_ACTIONS[r]) + tuple(SPECIAL_PERMISSIONS)


def permission_choices():
    """(value, label) pairs for a role form, in grid order."""
    return [(perm(r, a), f"{RESOURCE_LABELS[r]}: {ACTION_LABELS[a]}") for r in RESOURCES for a in RESOURCE_ACTIONS[r]] + [
        (name, label) for name, label in SPECIAL_PERMISSIONS.items()]


def _grant(resources, actions):
    return {perm(r, a) for r in resources for a in actions}


# name -> (description, permissions, limited to the user's own customers)
BUILTIN_ROLES = {
    "administrator": (
        _l("Manages accounts and roles; may do everything."),
        set(ALL_PERMISSIONS),
        False,
    ),
    "supervisor": (
        _l("Sees and works all customers of all owners, including delete, export, campaigns and reassigning owners; "
           "assigns complaints and closes major ones; imports files, merges duplicates and erases personal data "
           "on request."),
        _grant(RECORD_RESOURCES, ACTIONS)
        | {ASSIGN_OWNERS, ASSIGN_COMPLAINTS, SUPERVISE_COMPLAINTS, IMPORT_RECORDS, MERGE_CUSTOMERS, ERASE_PERSONAL_DATA,
           SHARE_VIEWS, perm("audit", "view")},
        False,
    ),
    "clerk": (
        _l("Enters and updates their own customers' files, transactions, interactions and complaints; views campaigns."),
        _grant(("customers", "transactions", "interactions", "complaints"), ("view", "create", "edit"))
        | {perm("campaigns", "view")}
        | _grant(("surveys",), ("view", "create", "edit")),
        True,
    ),
    "auditor": (
        _l("Reads and exports everything; changes nothing."),
        _grant(RESOURCES, ("view", "export")) - {perm("users", "export"), perm("roles", "export")},
        False,
    ),
}

# built-in roles whose users must sign in with a second factor unless an administrator changes the role's setting
TWO_FACTOR_BY_DEFAULT = frozenset({"administrator", "auditor"})
