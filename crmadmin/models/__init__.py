"""Every model of the CRM, re-exported so callers import from one place."""
from .base import Money, utcnow
from .user import Role, RolePermission, User, user_role
from .customer import Customer
from .campaign import Campaign, CampaignParticipant
from .transaction import Transaction
from .interaction import Interaction
from .complaint import Complaint
from .survey import SurveyResponse
from .audit import AuditEntry
from .standing import CustomerStanding, RevenueMonth, Setting, StandingChange

__all__ = [
    "AuditEntry", "Campaign", "CampaignParticipant", "Complaint", "Customer", "CustomerStanding", "Interaction",
    "Money", "RevenueMonth", "Role", "RolePermission", "Setting", "StandingChange", "Transaction", "User",
    "user_role", "utcnow",
    "SurveyResponse",
]
