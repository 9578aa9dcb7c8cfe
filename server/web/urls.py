from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from server.web import (
    batch_views,
    bulk_views,
    cert_views,
    conflict_views,
    dashboard,
    export_views,
    label_views,
    queue_views,
    views,
)
from server.web.converters import IdConverter
from server.web.login_throttle import ThrottledLoginView

register_converter(IdConverter, "id")

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("devices/", views.device_list, name="devices"),
    path("bulk/preview", bulk_views.preview, name="bulk_preview"),
    path("bulk/confirm", bulk_views.confirm, name="bulk_confirm"),
    path("queue/", queue_views.queue, name="queue"),
    path("devices/export.csv", export_views.devices_csv, name="export_csv"),
    path("devices/export.xlsx", export_views.devices_xlsx, name="export_xlsx"),
    path("erasures/export.csv", export_views.erasures_csv, name="erasures_csv"),
    path("erasures/export.xlsx", export_views.erasures_xlsx, name="erasures_xlsx"),
    path("laptop/<int:pk>/", views.device_detail, name="device"),
    path("laptop/<int:pk>/grade", views.override_grade, name="override_grade"),
    path("laptop/<int:pk>/destination", views.set_destination, name="set_destination"),
    path("laptop/<int:pk>/note", views.add_note, name="add_note"),
    path("laptop/<int:pk>/destruction", views.record_destruction, name="destruction"),
    path("laptop/<int:pk>/record.json", views.device_json, name="device_json"),
    path("laptop/<int:pk>/certificate", cert_views.laptop_certificate, name="laptop_cert"),
    path("laptop/<int:pk>/retag", conflict_views.retag, name="retag"),
    path("laptop/<int:pk>/merge", conflict_views.merge, name="merge"),
    # A tag only ever names a tag: one laptop opens, several are listed to choose from.
    path("devices/<path:key>/", views.device_detail, name="device_tag"),
    path("devices/<path:key>/grade", views.override_grade, name="override_grade_tag"),
    path("devices/<path:key>/destination", views.set_destination, name="set_destination_tag"),
    path("devices/<path:key>/note", views.add_note, name="add_note_tag"),
    path("devices/<path:key>/destruction", views.record_destruction, name="destruction_tag"),
    path("devices/<path:key>/record.json", views.device_json, name="device_json_tag"),
    path("devices/<path:key>/certificate", cert_views.laptop_certificate, name="laptop_cert_tag"),
    path("batches/", batch_views.batch_list, name="batches"),
    path("batches/<id:pk>/", batch_views.batch_detail, name="batch"),
    path("batches/<id:pk>/tags", batch_views.batch_add_tags, name="batch_tags"),
    path("batches/<id:pk>/close", batch_views.batch_close, name="batch_close"),
    path("batches/<id:pk>/certificate", batch_views.batch_certificate, name="batch_cert"),
    path("batches/<id:pk>/checks/<id:check_id>", batch_views.spot_check, name="spot_check"),
    path("batches/<id:pk>/sample", batch_views.batch_sample, name="batch_sample"),
    path("certificates/<uuid:cert_id>.pdf", cert_views.certificate_pdf, name="certificate_pdf"),
    path("certificates/<uuid:cert_id>/revoke", cert_views.revoke_certificate, name="revoke_cert"),
    path("verify/<uuid:cert_id>/", cert_views.verify, name="verify"),
    path("verify/<uuid:cert_id>.json", cert_views.verify_json, name="verify_json"),
    path("audit/", views.audit_log, name="audit"),
    path("labels/", label_views.label_page, name="labels"),
    path("labels/labels", label_views.label_file, name="label_file"),
]
