"""A throw-away test CA made with `openssl`, the broker certificates the TLS
tests need (valid, expired, for another name, from another CA) and a Mosquitto
with a TLS listener beside its plain one (the stub backend stays on plain)."""

import pathlib
import subprocess

from devstack.broker import Mosquitto, free_port, wait_port

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _run(*cmd):
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True)


def make_ca(d: pathlib.Path) -> pathlib.Path:
    """ca.crt/ca.der (the pinned CA), other.der (an unrelated CA), and server
    certificates signed by ca: good (localhost, 127.0.0.1), expired, wrongname."""
    d.mkdir(parents=True, exist_ok=True)
    _run(
        "openssl",
        "req",
        "-x509",
        *EC,
        "-keyout",
        d / "ca.key",
        "-out",
        d / "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=NoxusTime test CA",
    )
    _run("openssl", "x509", "-in", d / "ca.crt", "-outform", "der", "-out", d / "ca.der")
    _run(
        "openssl",
        "req",
        "-x509",
        *EC,
        "-keyout",
        d / "other.key",
        "-out",
        d / "other.crt",
        "-days",
        "2",
        "-subj",
        "/CN=Someone else",
    )
    _run("openssl", "x509", "-in", d / "other.crt", "-outform", "der", "-out", d / "other.der")
    for name, san, days in (
        ("good", "DNS:localhost,IP:127.0.0.1", "2"),
        ("expired", "DNS:localhost,IP:127.0.0.1", "-1"),  # notAfter yesterday
        ("wrongname", "DNS:broker.elsewhere.example", "2"),
    ):
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        _run(
            "openssl",
            "req",
            *EC,
            "-keyout",
            d / f"{name}.key",
            "-out",
            d / f"{name}.csr",
            "-subj",
            "/CN=" + san.split(",")[0][4:],
        )
        _run(
            "openssl",
            "x509",
            "-req",
            "-in",
            d / f"{name}.csr",
            "-CA",
            d / "ca.crt",
            "-CAkey",
            d / "ca.key",
            "-CAcreateserial",
            "-out",
            d / f"{name}.crt",
            "-days",
            days,
            "-extfile",
            d / f"{name}.ext",
        )
    return d


class TlsMosquitto(Mosquitto):
    """A Mosquitto with its plain listener and a TLS 1.2+ listener serving `cert`
    (tls_port)."""

    def __init__(self, data: pathlib.Path, ca: pathlib.Path, cert: str = "good"):
        self.tls_port = free_port()
        super().__init__(
            data,
            extra_conf=(
                f"\nlistener {self.tls_port} 127.0.0.1\ncertfile {ca / (cert + '.crt')}"
                f"\nkeyfile {ca / (cert + '.key')}\ntls_version tlsv1.2\n"
            ),
        )

    def start(self) -> "TlsMosquitto":
        super().start()
        wait_port(self.tls_port)
        return self


def tls_broker(data: pathlib.Path, ca: pathlib.Path, cert: str = "good") -> TlsMosquitto:
    """Started; stop() it (or use TlsMosquitto(...) as a context manager)."""
    return TlsMosquitto(data, ca, cert).start()


def make_board_ca(d: pathlib.Path, name: str) -> pathlib.Path:
    """ca.der (the pinned CA) and good.crt/good.key (a broker certificate for
    DNS `name`), EC P-256, both valid 2020-2040: the emulated RP2040's RTC is
    never set (MicroPython starts it at 2021-01-01; the wired kiosk has no NTP)
    and mbedTLS checks the dates, so make_ca's certificates, valid from today,
    would be refused there. Made with `cryptography` (openssl's -days counts
    from now)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d.mkdir(parents=True, exist_ok=True)
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(2040, 1, 1, tzinfo=datetime.UTC)

    def cert(subject, key, issuer, issuer_key, ca):
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = "NoxusTime board test CA"
    (d / "ca.der").write_bytes(
        cert(ca_name, ca_key, ca_name, ca_key, True).public_bytes(serialization.Encoding.DER)
    )
    key = ec.generate_private_key(ec.SECP256R1())
    (d / "good.crt").write_bytes(
        cert(name, key, ca_name, ca_key, False).public_bytes(serialization.Encoding.PEM)
    )
    (d / "good.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return d
