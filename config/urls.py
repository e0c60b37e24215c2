from django.contrib import admin
from django.urls import include, path

from web.language import set_language

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's language switcher, keeping a signed-in person's choice (web.language).
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("web.urls")),
]

# A database that failed outside a view (the session, the submission record) answers 503 with
# Retry-After like one that failed inside it (web.busy).
handler500 = "web.busy.server_error"
