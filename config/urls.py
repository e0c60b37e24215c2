from django.contrib import admin
from django.urls import include, path

from web.language import set_language

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's language switcher, keeping a signed-in person's choice (web.language).
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("web.urls")),
]
