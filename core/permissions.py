"""The role/action matrix of DESIGN §7: the one place that says who may do what."""

from enum import StrEnum


class Role(StrEnum):
    """A user's role in the workspace."""

    ADMIN = "admin"
    SALES_HEAD = "sales_head"
    MARKETING_HEAD = "marketing_head"
    EXEC = "exec"
    SALES_REP = "sales_rep"
    MARKETER = "marketer"

    @property
    def label(self) -> str:
        """Human-readable role name."""
        return ROLE_LABELS[self]

    @property
    def one(self) -> str:
        """The role in a sentence: "an executive", "a head of sales"."""
        name = self.label.lower()
        return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"

    @property
    def starting_a_sentence(self) -> str:
        """"An executive", "A head of sales"."""
        return self.one[0].upper() + self.one[1:]


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.SALES_HEAD: "Head of Sales",
    Role.MARKETING_HEAD: "Head of Marketing",
    Role.EXEC: "Executive",
    Role.SALES_REP: "Sales rep",
    Role.MARKETER: "Marketer",
}


class Action(StrEnum):
    """Something a user may try to do; each row of the DESIGN §7 table."""

    MANAGE_USERS = "manage users"
    EDIT_AGREEMENT = "draft, edit, submit an agreement"
    APPROVE_FOR_SALES = "approve for sales"
    APPROVE_FOR_MARKETING = "approve for marketing"
    SIGN_OFF = "sign off an agreed version or a quarter"
    COMMENT = "comment"
    IMPORT_DATA = "import leads / touches"
    WORK_LEADS = "log a touch, accept/reject a lead"
    DISPUTE_REJECTION = "dispute a rejection"
    RESOLVE_DISPUTE = "resolve a dispute"
    CONFIGURE_WORKSPACE = "change the workspace settings"
    REASSIGN_LEADS = "reassign a lead"
    EDIT_LEADS = "correct a lead's fields"
    # A sales rep may undo only their own accept/reject within the workspace's undo window;
    # services check authorship and the window on top of this.
    UNDO_DECISION = "undo an accept/reject"
    VIEW_DASHBOARDS = "view dashboards"
    MANAGE_INTEGRATIONS = "manage integrations and API tokens"
    MANAGE_CHANNELS = "set up mail and chat channels, see the delivery log"


_HEADS = {Role.SALES_HEAD, Role.MARKETING_HEAD}

MATRIX: dict[Action, frozenset[Role]] = {
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.EDIT_AGREEMENT: frozenset(_HEADS),
    Action.APPROVE_FOR_SALES: frozenset({Role.SALES_HEAD}),
    Action.APPROVE_FOR_MARKETING: frozenset({Role.MARKETING_HEAD}),
    Action.SIGN_OFF: frozenset({Role.EXEC}),
    Action.COMMENT: frozenset({Role.ADMIN, Role.EXEC, *_HEADS}),
    Action.IMPORT_DATA: frozenset({Role.ADMIN, Role.MARKETER, *_HEADS}),
    # A sales rep may work only their own leads; services check ownership on top of this.
    Action.WORK_LEADS: frozenset({Role.SALES_HEAD, Role.SALES_REP}),
    Action.DISPUTE_REJECTION: frozenset({Role.MARKETING_HEAD, Role.MARKETER}),
    Action.RESOLVE_DISPUTE: frozenset(_HEADS),
    Action.CONFIGURE_WORKSPACE: frozenset({Role.ADMIN}),
    Action.REASSIGN_LEADS: frozenset({Role.SALES_HEAD}),
    Action.EDIT_LEADS: frozenset(_HEADS),
    Action.UNDO_DECISION: frozenset({Role.SALES_HEAD, Role.SALES_REP}),
    Action.VIEW_DASHBOARDS: frozenset(Role),
    Action.MANAGE_INTEGRATIONS: frozenset({Role.ADMIN}),
    Action.MANAGE_CHANNELS: frozenset({Role.ADMIN}),
}

WHAT_YOU_CAN_DO: dict[Action, str] = {
    Action.MANAGE_USERS: "Add users, change their roles, deactivate them and reset passwords.",
    Action.EDIT_AGREEMENT: "Draft, edit and submit the sales–marketing SLA.",
    Action.APPROVE_FOR_SALES: "Approve an agreement version on behalf of sales.",
    Action.APPROVE_FOR_MARKETING: "Approve an agreement version on behalf of marketing.",
    Action.SIGN_OFF: "Sign off an agreed SLA version, and sign off each quarter's scorecard.",
    Action.COMMENT: "Comment on agreement versions and quarterly reviews.",
    Action.IMPORT_DATA: "Import leads and sales touches from CRM exports.",
    Action.WORK_LEADS: "Log touches on leads, and accept or reject them with a reason.",
    Action.DISPUTE_REJECTION: "Dispute a lead rejection you disagree with.",
    Action.RESOLVE_DISPUTE: "Uphold or overturn a disputed rejection.",
    Action.CONFIGURE_WORKSPACE: "Choose the workspace's settings, such as its currency.",
    Action.REASSIGN_LEADS: "Reassign leads to another rep, with a reason.",
    Action.EDIT_LEADS: "Correct a lead's name, company, email, channel, segment or region.",
    Action.UNDO_DECISION: "Undo an accept or reject (a rep: their own, within the undo window).",
    Action.VIEW_DASHBOARDS: "See live SLA compliance for both teams.",
    Action.MANAGE_INTEGRATIONS: "Connect HubSpot and Salesforce, and issue REST API tokens.",
    Action.MANAGE_CHANNELS: "Set up the mail server and chat webhooks alerts go out on, and "
                            "see the delivery log.",
}


class PermissionDenied(Exception):
    """Raised by a service when the actor's role may not perform the action."""

    def __init__(self, role: str, action: Action):
        super().__init__(f"{Role(role).starting_a_sentence} may not {action.value}.")
        self.role = role
        self.action = action

    @classmethod
    def because(cls, role: str, action: Action, why: str) -> "PermissionDenied":
        """A refusal of a role that may do the action in general, but not this time (a rep's
        own leads, a window that has passed): the sentence says why."""
        refused = cls(role, action)
        refused.args = (f"Not allowed: {why}.",)
        return refused


def can(role: str, action: Action) -> bool:
    """Whether a role may perform an action."""
    return role in MATRIX[action]


def require(role: str, action: Action) -> None:
    """Raise PermissionDenied unless the role may perform the action."""
    if not can(role, action):
        raise PermissionDenied(role, action)


def allowed_actions(role: str) -> list[Action]:
    """The actions a role may perform, in table order."""
    return [action for action in Action if can(role, action)]
