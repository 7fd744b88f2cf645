"""Words of Flask-Admin's own pages that its zh_Hans_CN catalogue lacks or gets wrong. Nothing calls this module:
pybabel reads it, so the words are in our catalogue, which crmadmin.i18n merges over Flask-Admin's."""
from flask_babel import lazy_gettext as _l, lazy_ngettext

# the wheel's admin.mo was compiled without these two, though its admin.po translates them
FLASHED = (_l("Failed to save record."), _l("Failed to create record."))

# the page size menu formats each size into its msgid ("20 items"): one per SecureModelView.page_size_options
PAGE_SIZES = (lazy_ngettext("20 item", "20 items", 20), lazy_ngettext("50 item", "50 items", 50),
              lazy_ngettext("100 item", "100 items", 100))
ITEMS = _l("items")  # after the chosen size on the menu's button: 项目 ("projects") in Flask-Admin's catalogue

# admin/base.html writes the menu button's aria-label literally: its override in our templates translates it
TOGGLE_NAVIGATION = _l("Toggle navigation")
