"""Every model of the CRM, re-exported so callers import from one place."""
from .base import Money, utcnow
from .user import RecoveryCode, Role, RolePermission, User, user_role
from .user_session import UserSession
from .customer import Customer
from .campaign import Campaign, CampaignParticipant
from .transaction import Transaction
from .interaction import Interaction
from .complaint import Complaint, ComplaintStep
from .survey import SurveyResponse
from .audit import AuditEntry
from .privacy import PersonalDataRequest
from .standing import CustomerStanding, RevenueMonth, Setting, StandingChange
from .matching import CustomerMatch
from .imports import ImportMapping, ImportRun
from .record_file import RecordFile
from .job import Job
from .list_prefs import ListColumns, SavedView

__all__ = [
    "AuditEntry", "Campaign", "CampaignParticipant", "Complaint", "ComplaintStep", "Customer", "CustomerStanding",
    "Interaction",
    "Money", "RecoveryCode", "RevenueMonth", "Role", "RolePermission", "Setting", "StandingChange", "Transaction",
    "User", "UserSession", "user_role", "utcnow",
    "SurveyResponse", "PersonalDataRequest", "CustomerMatch", "ImportMapping", "ImportRun",
    "RecordFile", "Job", "ListColumns", "SavedView",
]
