"""Row scope: which rows of a screen the current user may see, for lists, lookups, exports and ids alike."""
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_login import current_user

from .. import search
from ..extensions import db
from ..models import Customer
from ..queries import of_owned_customer


def restrict(query, model, scope: str | None, resource: str | None):
    """Narrow a query to the user's own customers when every role granting `resource` is scoped."""
    if scope is None or resource is None:
        return query
    if not current_user.is_authenticated:
        return query.filter(False)
    if not current_user.limited_to_own_customers(resource):
        return query
    if scope == "owner":
        return query.filter(model.owner_id == current_user.id)
    return query.filter(of_owned_customer(model.customer_id, current_user.id))


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """A picker that searches and accepts only customers the user may see: no picking another owner's customer."""

    def get_query(self):
        query = super().get_query()
        if self.model is Customer:
            query = restrict(query, Customer, "owner", "customers")
        return query

    def get_list(self, term, offset=0, limit=DEFAULT_PAGE_SIZE):
        """Customers through the search index, as the lists find them (each word in some field, `%` taken literally):
        Flask-Admin's `CAST(field AS VARCHAR) ILIKE '%term%'` reads every customer on either database."""
        names = [field.name for field in self._cached_fields]
        words = term.replace("\x00", " ").split()
        if self.model is not Customer or not words or not set(names) <= set(search.INDEXED["customer"]):
            return super().get_list(term, offset, limit)
        dialect = db.session.get_bind().dialect.name
        matching = search.matching_ids("customer", names, words, dialect)
        return self.get_query().filter(Customer.id.in_(matching)).offset(offset).limit(limit).all()

    def get_one(self, pk):
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        with db.session.no_autoflush:
            return self.get_query().filter(self.model.id == pk).one_or_none()
