"""Example of a program that crashes now and then, with a Python traceback on stderr."""

import random
import sys
import time


def handle(order_id: int) -> None:
    if random.random() < 0.25:
        raise RuntimeError(f"payment gateway timed out for order {order_id}")
    print(f"order {order_id} processed", flush=True)


def main() -> None:
    order_id = random.randint(1000, 9999)
    while True:
        handle(order_id)
        order_id += 1
        time.sleep(random.uniform(1, 4))


if __name__ == "__main__":
    main()
    sys.exit(0)
