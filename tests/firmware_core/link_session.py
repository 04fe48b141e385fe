# The kiosk's MQTT link (firmware/core/mqtt_link.py) against a real broker,
# the same script on CPython and on the MicroPython Unix port:
#
#   micropython tests/firmware_core/link_session.py KIOSK_ID SEED HOST:PORT [HOST:PORT ...]
#
# dials the brokers given (in turn, with the link's jittered backoff drawn from
# a random source seeded with SEED), and prints
#   "delay <ms>" for each backoff delay drawn,
#   "up <host:port> <connects>" on each connect,
#   "msg <topic>" for each message received,
# until it holds a message on each of its three kiosk topics (the test leaves
# one retained on each: only a live subscription delivers it) and every SUBACK
# (the ingest notice's too) has come, then "DONE <connects> <unconfirmed topics>". A 60 s deadline (a safety net, never
# a measure) prints "TIMEOUT". MicroPython-compatible on purpose.

import sys

from lcg import Lcg

from firmware.core import mqtt_link
from firmware.core import protocol as P
from firmware.core.ticks import sleep_ms, ticks_diff, ticks_ms

DEADLINE_MS = 60000


def main(argv):
    kiosk_id, seed = argv[0], int(argv[1])
    nodes = []
    for a in argv[2:]:
        host, port = a.rsplit(":", 1)
        nodes.append({"host": host, "port": int(port)})
    got = []

    def on_message(topic, payload):
        print("msg", topic)
        if topic not in got:
            got.append(topic)

    link = mqtt_link.from_config(kiosk_id, {"tls": False, "nodes": nodes}, rand=Lcg(seed))
    link.client.on_message = on_message
    draw = link.reconnect.failed

    def failed():
        d = draw()
        print("delay", d)
        return d

    link.reconnect.failed = failed
    link._on_connect_cb = lambda: print("up", link.endpoint, link.connects)
    link.start()
    want = [P.topic(kiosk_id, leaf) for leaf in (P.ACK, P.CONFIG, P.CMD)]
    t0 = ticks_ms()
    while len(got) < len(want) or link.unconfirmed:
        now = ticks_ms()
        if ticks_diff(now, t0) > DEADLINE_MS:
            print("TIMEOUT", link.connects, ",".join(link.unconfirmed) or "-")
            return
        link.poll(now)
        sleep_ms(5)
    print("DONE", link.connects, ",".join(link.unconfirmed) or "-")
    link.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
