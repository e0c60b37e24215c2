from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import facts, history, launches, notifications, operations, raci, reports, views, waivers, workflow

app_name = "web"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="sign-out"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(
            template_name="web/password_change.html", success_url=reverse_lazy("web:password-change-done")
        ),
        name="password-change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="web/password_change_done.html"),
        name="password-change-done",
    ),
    path("launches/new/", views.new_launch, name="new-launch"),
    path("launches/<slug:slug>/", views.launch_detail, name="launch"),
    path("launches/<slug:slug>/history/", history.launch_history, name="history"),
    path("launches/<slug:slug>/edit/", launches.edit_launch, name="edit-launch"),
    path("launches/<slug:slug>/archive/", launches.archive_launch, name="archive-launch"),
    path(
        "launches/<slug:slug>/policy-changes/<int:pk>/",
        launches.decide_policy_change,
        name="decide-policy-change",
    ),
    path("launches/<slug:slug>/request-signoffs/", workflow.request_signoffs, name="request-signoffs"),
    path("launches/<slug:slug>/advance/", workflow.advance, name="advance"),
    path("launches/<slug:slug>/rollback/", workflow.rollback, name="rollback"),
    path("launches/<slug:slug>/facts/<str:kind_name>/add/", facts.add_fact, name="fact-add"),
    path("launches/<slug:slug>/facts/<str:kind_name>/<int:pk>/", facts.change_fact, name="fact-change"),
    path("launches/<slug:slug>/facts/<str:kind_name>/<int:pk>/remove/", facts.remove_fact, name="fact-remove"),
    path("launches/<slug:slug>/facts/<str:kind_name>/<int:pk>/confirm/", facts.confirm_fact, name="fact-confirm"),
    path("launches/<slug:slug>/facts/<str:kind_name>/<int:pk>/agree/", facts.agree_fact, name="fact-agree"),
    path(
        "launches/<slug:slug>/raci/<int:area_pk>/<int:person_pk>/",
        raci.raci_cell,
        name="raci-cell",
    ),
    path("launches/<slug:slug>/areas/left-out/", raci.omission_record, name="omission-record"),
    path("launches/<slug:slug>/areas/left-out/<int:pk>/withdraw/", raci.omission_withdraw, name="omission-withdraw"),
    path("signoffs/", workflow.inbox, name="inbox"),
    path("signoffs/<int:pk>/", workflow.decide, name="decide"),
    path("signoffs/<int:pk>/withdraw/", workflow.withdraw, name="withdraw"),
    path("consultations/<int:pk>/acknowledge/", workflow.acknowledge_stage, name="acknowledge"),
    path("launches/<slug:slug>/sli/record/", operations.record_day, name="sli-record"),
    path("launches/<slug:slug>/sli/upload/", operations.upload_csv, name="sli-upload"),
    path("launches/<slug:slug>/sli/prometheus/", operations.prometheus_source, name="sli-prometheus"),
    path("launches/<slug:slug>/waivers/request/", waivers.request_waiver, name="waiver-request"),
    path("waivers/<int:pk>/", waivers.decide_waiver, name="waiver-decide"),
    path("launches/<slug:slug>/reports/", reports.request_launch_report, name="report-request"),
    path("launches/<slug:slug>/reports/<str:pk>/", reports.report_status, name="launch-report"),
    path("reports/", reports.report_list, name="reports"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read-all/", notifications.notification_read_all, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", notifications.notification_read, name="notification-read"),
    path("reports/portfolio/", reports.request_portfolio_report, name="portfolio-report"),
    path("reports/verify/", reports.verify, name="report-verify"),
    path("reports/<uuid:pk>/", reports.report_status, name="report"),
    path("reports/<uuid:pk>/download/", reports.report_download, name="report-download"),
]
