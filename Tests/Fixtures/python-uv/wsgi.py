"""The uv.lock sample: a WSGI application, served by gunicorn (bin/release's default)."""
import importlib.util

import idna
import six


def application(environ, start_response):
    dev = "installed" if importlib.util.find_spec("pytest") else "absent"
    body = f"uv sample served by {environ.get('SERVER_SOFTWARE', 'a server')} with idna {idna.__version__} and six {six.__version__} (idna's extra); pytest {dev}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
