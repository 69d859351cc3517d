"""Settings of the Kiln Django sample: static files collected at build time."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("SECRET_KEY", "kiln-sample-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles"]
ROOT_URLCONF = "kilnsite.urls"
WSGI_APPLICATION = "kilnsite.wsgi.application"
DATABASES = {}
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "assets"]
# A config var removes STATIC_ROOT, for the test of a failing collectstatic.
if not os.environ.get("KILN_SAMPLE_NO_STATIC_ROOT"):
    STATIC_ROOT = BASE_DIR / "staticfiles"
