"""(a)'s receiving side, in its own process like the ingest worker: a plain
paho QoS 1 subscriber that counts messages and, at the N-th, publishes one
'done' message (the counterpart of the last app ack in (c)) and prints
"done <monotonic s>" (the clock of every process on this machine).

    python -m bench.raw_subscriber PORT N TOPIC_FILTER DONE_TOPIC
"""

import sys
import threading
import time

from bench.common import client, subscribe


def main(port: int, n: int, topic_filter: str, done_topic: str) -> None:
    seen = 0
    finished = threading.Event()
    sent, done_at = [], []

    def on_message(c, _userdata, msg):
        nonlocal seen
        seen += 1
        if seen == n:
            done_at.append(time.monotonic())
            # Not wait_for_publish() here: this is paho's network thread.
            sent.append(c.publish(done_topic, str(seen), qos=1))
            finished.set()

    c = client(port, on_message=on_message)
    subscribe(c, topic_filter)
    print("ready", flush=True)
    if finished.wait(600):
        sent[0].wait_for_publish(10)
        print(f"done {done_at[0]}", flush=True)
    c.disconnect()
    c.loop_stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
