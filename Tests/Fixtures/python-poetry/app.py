"""The poetry.lock sample: a WSGI callable, served by gunicorn (bin/release's default)."""
import importlib.util

import six


def app(environ, start_response):
    dev = "installed" if importlib.util.find_spec("pytest") else "absent"
    body = f"poetry sample served by {environ.get('SERVER_SOFTWARE', 'a server')} with six {six.__version__}; pytest {dev}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
