"""Fixture: an HTTP server on 127.0.0.1:PORT answering 200, or 503 once the file FAIL exists.

Usage: listen.py PORT [FAIL_FILE] [DELAY]. DELAY seconds pass before it starts listening.
"""

import http.server
import os
import sys
import time

port = int(sys.argv[1])
fail_file = sys.argv[2] if len(sys.argv) > 2 else ""
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        failing = bool(fail_file) and os.path.exists(fail_file)
        self.send_response(503 if failing else 200)
        self.end_headers()
        self.wfile.write(b"down\n" if failing else b"ok\n")

    def log_message(self, format: str, *args: object) -> None:
        print("request", self.path, flush=True)


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
