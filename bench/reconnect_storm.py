"""Reconnect storm (issue 5): the storm of bench.cluster_storm on one
Mosquitto at the scale of the first measurement — 200 kiosks × 100 punches
(5 batches each), one batch in flight as the Pico boards send, 1 then 2
`noxus ingest` workers — written to its own block of docs/benchmarks.md.

    python -m bench.reconnect_storm [--kiosks 200] [--punches 100] [--workers 1,2] [--window 1]
"""

import sys

from bench import cluster_storm

DEFAULTS = {"kiosks": "200", "punches": 100, "workers": "1,2", "brokers": "mosquitto"}


def main(argv=None) -> None:
    args = list(argv if argv is not None else sys.argv[1:])
    if not any(a.startswith("--window") for a in args):
        args += ["--window", "1"]
    cluster_storm.main(args, DEFAULTS, "reconnect_storm", "Reconnect storm (issue 5)")


if __name__ == "__main__":
    main()
