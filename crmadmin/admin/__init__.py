"""The panel: one Admin per app, its screens, and the menu they make."""
from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (AuditEntry, Campaign, CampaignParticipant, Complaint, Customer, CustomerStanding, Interaction,
                      Role, Transaction, User)
from ..models import PersonalDataRequest, SurveyResponse
from .accounts import RoleView, UserView
from .audit_log import AuditLogView
from .complaint_settings import ComplaintDeadlinesView
from .complaints import ComplaintView, OverdueComplaintView
from .dashboard import DashboardView
from .duplicates import DuplicatesView
from .personal_data import PersonalDataRequestView
from .followups import FollowUpView
from . import export_jobs, freshness, menu, static_urls
from .job_start import register_check
from .jobs import JobsView
from .customers import CustomerView
from .campaign_comparison import CampaignComparisonView
from .campaigns import CampaignView, ParticipantView
from .records import InteractionView, TransactionView
from .record_files import RecordFilesView, files_section
from .settings import SettingsView
from .surveys import SatisfactionView, SurveyView
from .tiers import ChurnView, TierView


def init_app(app: Flask) -> Admin:
    menu.init_app(app)
    freshness.init_app(app)
    static_urls.init_app(app)
    admin = Admin(
        app,
        name=app.config["CRM_NAME"],
        theme=Bootstrap4Theme(swatch=app.config["FLASK_ADMIN_SWATCH"], base_template="admin/crm_master.html",
                              fluid=True),  # the whole width for the lists (static/css/lists.css)
        index_view=DashboardView(name=_l("Home"), url="/admin"),
        csp_nonce_generator=app.extensions["csp_nonce"],  # crmadmin.security: one nonce per request
    )
    records = _l("Records")
    admin.add_view(CustomerView(Customer, db, name=_l("Customers"), category=records, endpoint="customer"))
    admin.add_view(DuplicatesView(name=_l("Duplicates"), category=records, endpoint="duplicates"))
    admin.add_view(TransactionView(Transaction, db, name=_l("Transactions"), category=records, endpoint="transaction"))
    admin.add_view(InteractionView(Interaction, db, name=_l("Interactions"), category=records, endpoint="interaction"))
    admin.add_view(ComplaintView(Complaint, db, name=_l("Complaints"), category=records, endpoint="complaint"))
    admin.add_view(CampaignView(Campaign, db, name=_l("Campaigns"), category=records, endpoint="campaign"))
    admin.add_view(ParticipantView(CampaignParticipant, db, name=_l("Campaign participants"), category=records,
                                   endpoint="campaignparticipant"))
    admin.add_view(SurveyView(SurveyResponse, db, name=_l("Satisfaction surveys"), category=records, endpoint="survey"))
    admin.add_view(PersonalDataRequestView(PersonalDataRequest, db, name=_l("Personal data requests"),
                                           category=records, endpoint="personaldata"))
    admin.add_view(CampaignComparisonView(name=_l("Campaign comparison"), category=records,
                                          endpoint="campaigncomparison"))
    work = _l("Customer care")
    admin.add_view(FollowUpView(CustomerStanding, db, name=_l("Follow-ups"), category=work, endpoint="followups"))
    admin.add_view(TierView(CustomerStanding, db, name=_l("Value tiers"), category=work, endpoint="tiers"))
    admin.add_view(ChurnView(CustomerStanding, db, name=_l("Churn warning"), category=work, endpoint="churn"))
    admin.add_view(OverdueComplaintView(Complaint, db, name=_l("Overdue complaints"), category=work,
                                        endpoint="overdue_complaints"))
    admin.add_view(SatisfactionView(name=_l("Satisfaction"), category=work, endpoint="satisfaction"))
    accounts = _l("Administration")
    admin.add_view(UserView(User, db, name=_l("Users"), category=accounts, endpoint="user"))
    admin.add_view(RoleView(Role, db, name=_l("Roles"), category=accounts, endpoint="role"))
    admin.add_view(SettingsView(name=_l("Tier and follow-up rules"), category=accounts, endpoint="settings"))
    admin.add_view(ComplaintDeadlinesView(name=_l("Complaint due times"), category=accounts,
                                          endpoint="complaint_deadlines"))
    admin.add_view(AuditLogView(AuditEntry, db, name=_l("Operation log"), category=accounts, endpoint="auditentry"))
    from .imports import ImportView, init_app as init_imports  # here, not above: crmadmin.imports reads labels
    # from this package

    imports_view = ImportView(name=_l("Import"), category=records, endpoint="imports")
    admin.add_view(imports_view)
    init_imports(app, imports_view)
    admin.add_view(RecordFilesView(name=_l("Files"), endpoint="recordfiles"))
    app.jinja_env.globals["record_files_section"] = files_section  # admin/_record_files.html
    admin.add_view(JobsView(name=_l("Jobs"), endpoint="jobs", url="/admin/jobs"))
    export_jobs.init_app(app, admin)
    views = {view.endpoint: view for view in admin._views}
    register_check(app, "undo_batch", views["auditentry"].may_undo_batch)
    register_check(app, "merge", views["duplicates"].merge_check)
    return admin
