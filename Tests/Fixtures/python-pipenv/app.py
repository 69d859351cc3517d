"""The Pipfile.lock sample: answers on $PORT with what pip installed from the lock's default section."""
import importlib.util
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

import idna
import six


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        dev = "installed" if importlib.util.find_spec("pytest") else "absent"
        body = f"pipenv sample served with six {six.__version__} and idna {idna.__version__}; pytest {dev}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
