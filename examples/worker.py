"""Example worker: polls the web service every few seconds and reports what it saw."""

import os
import time
import urllib.request

URL = os.environ.get("WEB_URL", "http://127.0.0.1:8780/")

while True:
    try:
        with urllib.request.urlopen(URL, timeout=2) as response:
            print(f"job done: {URL} answered {response.status}", flush=True)
    except OSError as exc:
        print(f"job failed: {exc}", flush=True)
    time.sleep(5)
