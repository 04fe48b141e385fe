# Runs the case_* functions of one portable test module and prints one line
# per case: "PASS <name>" or "FAIL <name> <error>", then "END <count>".
# The same module is imported directly by pytest under CPython; under the
# MicroPython Unix port pytest runs this script as a subprocess:
#
#   MICROPYPATH=<repo>:<repo>/tests/firmware micropython tests/firmware/mprun.py cases_mfrc522

import sys


def main(modname, only=None):
    mod = __import__(modname)
    names = sorted(n for n in dir(mod) if n.startswith("case_"))
    for name in names:
        if only and name != only:
            continue
        try:
            getattr(mod, name)()
            print("PASS " + name)
        except Exception as e:  # report and go on: one line per case
            print("FAIL %s %s: %s" % (name, type(e).__name__, str(e).replace("\n", " | ")))
            pe = getattr(sys, "print_exception", None)
            if pe is not None:
                pe(e)
    print("END %d" % len(names))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
