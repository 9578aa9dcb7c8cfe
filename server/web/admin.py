"""User management in the Django admin without self-escalation.

Only a superuser made on the command line (``digibench-server createsuperuser``) is
one. A user with the admin role manages other users' names, passwords and roles, but
never is_superuser, is_staff or permissions, never a superuser's account, and never
its own roles.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from server.web import audit, roles
from server.web.login_throttle import ThrottledAuthenticationForm

_ESCALATING = ("is_superuser", "is_staff", "user_permissions")


class RoleUserAdmin(UserAdmin):  # type: ignore[type-arg]
    def _limited(self, request: HttpRequest) -> bool:
        return not getattr(request.user, "is_superuser", False)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if not self._limited(request):
            return fieldsets
        trimmed = []
        for name, opts in fieldsets:
            fields = [f for f in opts.get("fields", ()) if f not in _ESCALATING]
            if fields:
                trimmed.append((name, {**opts, "fields": fields}))
        return trimmed

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if self._limited(request):
            readonly += ["last_login", "date_joined"]
            if obj is not None and obj.pk == request.user.pk:
                readonly.append("groups")  # nobody grants themselves a role
        return readonly

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "groups" and self._limited(request):
            kwargs["queryset"] = Group.objects.filter(name__in=list(roles.ROLES))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and self._limited(request):
            return False  # nor its password: that would be logging in as it
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and self._limited(request):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if self._limited(request) and obj.pk is not None:
            # Belt and braces: whatever the form posted, these stay as they were.
            before = User.objects.get(pk=obj.pk)
            for name in ("is_superuser", "is_staff"):
                setattr(obj, name, getattr(before, name))
        elif self._limited(request):
            obj.is_superuser = False
            obj.is_staff = False
        super().save_model(request, obj, form, change)
        audit.record(
            request.user,
            "user.changed" if change else "user.added",
            "user",
            obj.get_username(),
            changed=sorted(form.changed_data),
        )


admin.site.unregister(User)
admin.site.register(User, RoleUserAdmin)


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin's own login page counts failures like the web UI's."""


admin.site.login_form = ThrottledAdminAuthenticationForm
