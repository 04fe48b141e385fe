# Kiosk configuration from the retained `config` topic (fields in
# docs/firmware.md). A config is validated whole, then applied atomically: the
# badge list and config.json are each replaced by rename, and the running kiosk
# switches only after both are on flash. A rejected config changes nothing and
# is reported; a config whose version is not higher than the current one is
# ignored (the retained message comes again on every reconnect).

import json

from firmware.core import fsutil

DEFAULTS = {"config_version": 0, "cooldown_ms": 3000, "telemetry_s": 60,
            "tz": {"offset_min": 0, "next": None}, "enroll_timeout_s": 60}
TEXT_COLS = 16  # 8x8 font on the 128 px display
MAX_TEXTS = 16  # a small dict: the display keeps it in RAM
LIMITS = {"cooldown_ms": (0, 60000), "telemetry_s": (10, 3600), "enroll_timeout_s": (5, 600)}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def validate(d, current_version):
    """-> (config dict without badges, badges dict or None, None) or
    (None, None, reason)."""
    v = d.get("config_version")
    if not _is_int(v) or v < 0:
        return None, None, "config_version must be a non-negative integer"
    if v <= current_version:
        return None, None, "config_version %d is not newer than %d" % (v, current_version)
    out = {}
    for k in DEFAULTS:
        out[k] = DEFAULTS[k]
    out["config_version"] = v
    for k in LIMITS:
        if k in d:
            lo, hi = LIMITS[k]
            if not _is_int(d[k]) or not lo <= d[k] <= hi:
                return None, None, "%s must be an integer %d..%d" % (k, lo, hi)
            out[k] = d[k]
    if "tz" in d:
        tz = d["tz"]
        if not isinstance(tz, dict) or not _is_int(tz.get("offset_min")) \
                or not -720 <= tz["offset_min"] <= 840:
            return None, None, "tz.offset_min must be minutes -720..840 (UTC+1 = 60)"
        nxt = tz.get("next")
        if nxt is not None and not (isinstance(nxt, list) and len(nxt) == 2 and _is_int(nxt[0])
                                    and _is_int(nxt[1]) and -720 <= nxt[1] <= 840):
            return None, None, "tz.next must be [epoch seconds, offset minutes] or null"
        out["tz"] = {"offset_min": tz["offset_min"], "next": nxt}
    if d.get("texts") is not None:
        err = _check_texts(d["texts"])
        if err:
            return None, None, err
        out["texts"] = d["texts"]
    badges = d.get("badges")
    if badges is not None and not isinstance(badges, dict):
        return None, None, "badges must be an object {uid: first name}"
    return out, badges, None


def _check_texts(texts):
    """texts: {key: [line] or [line, line]}, printable ASCII (the display's
    font), 16 columns (docs/firmware.md). Keys the firmware does not know are
    kept and ignored by the display (a newer backend may send more)."""
    if not isinstance(texts, dict) or len(texts) > MAX_TEXTS:
        return "texts must be an object of at most %d entries" % MAX_TEXTS
    for k in texts:
        v = texts[k]
        if not isinstance(v, list) or not 1 <= len(v) <= 2:
            return "texts.%s must be a list of one or two lines" % k
        for line in v:
            if not isinstance(line, str) or len(line) > TEXT_COLS:
                return "texts.%s: lines are strings of at most %d characters" % (k, TEXT_COLS)
            for c in line:
                if not " " <= c <= "~":
                    return "texts.%s: printable ASCII only (the display's font)" % k
    return None


class ConfigStore:
    def __init__(self, root):
        self.root = root
        fsutil.makedirs(root)
        self.path = fsutil.join(root, "config.json")
        self.current = self.load()

    def load(self):
        raw = fsutil.read(self.path)
        cfg = {}
        for k in DEFAULTS:
            cfg[k] = DEFAULTS[k]
        if raw:
            try:
                cfg.update(json.loads(raw))
            except ValueError:
                pass  # a torn file cannot exist (rename), but never crash on it
        return cfg

    def version(self):
        return self.current.get("config_version", 0)

    def save(self, cfg):
        fsutil.write_atomic(self.path, json.dumps(cfg).encode())
        self.current = cfg
