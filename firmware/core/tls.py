# The kiosk's TLS client settings, from the "broker" section of kiosk.json:
#
#   "broker": {"host": "mqtt.noxus.ch", "port": 8883, "tls": true,
#              "ca_file": "ca.pem", "server_hostname": "mqtt.noxus.ch", ...}
#   (or "ca_pem": "-----BEGIN CERTIFICATE-----..." inline, as the Pi's config has it)
#
# TLS is the default: plain TCP only when the config says "tls": false (the
# local demo). The server certificate is verified against the one CA that
# provisioning installed (ca_file, PEM or DER; pinned: no system trust store)
# and must name server_hostname (default: host). TLS 1.2 is the floor: the
# MicroPython ssl module is mbedTLS 3 (TLS 1.2/1.3 only); CPython is told so.
# docs/security.md, "What is encrypted where".

import binascii

from firmware.core import fsutil

PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
PEM_END = b"-----END CERTIFICATE-----"


class TlsConfigError(ValueError):
    """The broker section cannot give a verified connection; the message says what to fix."""


def wants_tls(broker):
    """True unless the config says "tls": false explicitly."""
    return broker.get("tls", True) is not False


def der_certs(data):
    """PEM (one or more certificates) or DER bytes -> DER bytes (mbedTLS on
    MicroPython takes a DER chain as cadata; PEM would need a NUL end)."""
    if PEM_BEGIN not in data:
        if data[:1] != b"\x30":
            raise TlsConfigError("CA file is neither PEM nor DER")
        return data
    out = b""
    at = 0
    while True:
        b = data.find(PEM_BEGIN, at)
        if b < 0:
            break
        e = data.find(PEM_END, b)
        if e < 0:
            break
        out += binascii.a2b_base64(data[b + len(PEM_BEGIN):e])
        at = e + len(PEM_END)
    return out


class _Named:
    """An SSLContext that checks `name` whatever host the socket dialled (the
    broker reached by IP address, its certificate issued for a name)."""

    def __init__(self, ctx, name):
        self.ctx = ctx
        self.name = name

    def wrap_socket(self, sock, server_hostname=None, **kw):
        return self.ctx.wrap_socket(sock, server_hostname=self.name, **kw)


def _ssl_module():
    """`ssl` (CPython, MicroPython with micropython-lib's wrapper), else
    MicroPython's own `tls` module, which `ssl` wraps: the NoxusTime rp2 image
    has `tls` and not micropython-lib (scripts/build_rp2.sh)."""
    try:
        import ssl
        return ssl
    except ImportError:
        pass
    try:
        import tls
        return tls
    except ImportError:  # an image built without MICROPY_PY_SSL (MicroPython's plain RPI_PICO)
        raise TlsConfigError("this firmware has no ssl module: flash an image with TLS, or set broker.tls false")


def context(broker, root=""):
    """-> None (plain TCP, "tls": false) or an SSLContext that verifies the
    broker against the pinned CA. Raises TlsConfigError."""
    if not wants_tls(broker):
        return None
    ca_file = broker.get("ca_file")
    inline = broker.get("ca_pem")
    if not ca_file and not inline:
        raise TlsConfigError("broker.ca_file is not set: TLS needs the pinned CA "
                             "(noxus-provision enroll installs it), or set broker.tls false")
    if inline:
        path, data = "broker.ca_pem", inline.encode()
    else:
        path = ca_file if ca_file.startswith("/") or not root else fsutil.join(root, ca_file)
        data = fsutil.read(path)
    if not data:
        raise TlsConfigError(f"broker CA file {path} is missing or empty: reinstall it with noxus-provision"
                             )
    cadata = der_certs(data)
    data = None
    ssl = _ssl_module()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if hasattr(ctx, "minimum_version"):  # CPython (the Pi port)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        if ssl.__name__ == "tls":  # the C module takes cadata positionally only
            ctx.load_verify_locations(cadata)
        else:
            ctx.load_verify_locations(cadata=cadata)
    except (ValueError, OSError) as e:  # MicroPython: ValueError; CPython: ssl.SSLError
        raise TlsConfigError(f"broker CA file {path} is not a certificate: {e}")
    name = broker.get("server_hostname")
    if name and name != broker.get("host"):
        return _Named(ctx, name)
    return ctx


def describe(broker):
    """One line for logs: where the kiosk connects and how."""
    host = "{}:{}".format(broker.get("host"), broker.get("port", 8883))
    if not wants_tls(broker):
        return host + " (plain TCP: broker.tls is false)"
    return "{} over TLS (CA {}, name {})".format(host, broker.get("ca_file"),
                                                 broker.get("server_hostname") or broker.get("host"))
