from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.urls import path


def index(request):
    # What the build's hooks and collectstatic left in the slug.
    base = Path(settings.BASE_DIR)
    hooks = " ".join((base / name).read_text().strip() for name in ("pre_compile.txt", "post_compile.txt"))
    collected = (base / "staticfiles/css/site.css").is_file()
    return HttpResponse(f"django sample served; {hooks}; static collected: {collected}\n")


urlpatterns = [path("", index)]
