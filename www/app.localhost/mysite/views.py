from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render


def healthz(request):
    """Liveness of nginx + uWSGI + Django; deliberately no database access.

    APP_FAIL_HEALTH=1 makes it fail on purpose (the rest of the app still works).
    """
    if settings.APP_FAIL_HEALTH:
        return HttpResponse("failing on purpose: APP_FAIL_HEALTH=1\n",
                            content_type="text/plain", status=503)
    return HttpResponse("ok\n", content_type="text/plain")


def home(request):
    db = settings.DATABASES["default"]
    context = {
        "ok": False,
        "reason": "",
        "server_version": "",
        "notes": [],
        "db": db,
        "secret_key_source": settings.SECRET_KEY_SOURCE,
        "version": settings.APP_VERSION,
    }
    if settings.DB_PASSWORD_ERROR:
        context["reason"] = settings.DB_PASSWORD_ERROR
    else:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
                context["ok"] = True
                cursor.execute("SHOW server_version")
                context["server_version"] = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT to_regclass('notes') IS NOT NULL"
                )
                if cursor.fetchone()[0]:
                    cursor.execute("SELECT id, title FROM notes ORDER BY id")
                    context["notes"] = cursor.fetchall()
        except Exception as exc:
            context["reason"] = str(exc).strip() or exc.__class__.__name__
    response = render(request, "home.html", context, status=200 if context["ok"] else 503)
    response["Cache-Control"] = "no-store"
    return response
