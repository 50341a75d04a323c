"""Fixture: allocates the MiB given and holds them."""

import sys
import time

block = bytearray(int(sys.argv[1]) * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
print("allocated", flush=True)
while True:
    time.sleep(60)
