"""TLS for the backend's own clients: MQTT (ingest worker, enrollment, fleet)
and SMTP. Certificates are always verified (system trust store, or the CA file a
setting names) with the host name checked; TLS 1.2 is the floor. docs/security.md."""

import ssl

from noxus.core.settings import Settings


def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying client context: `ca_file` (PEM) pins a CA, else the system store."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx  # check_hostname True, CERT_REQUIRED: create_default_context's defaults


def configure_mqtt(client, settings: Settings) -> None:
    """Credentials and, when NOXUS_MQTT_TLS is on, TLS for one paho client."""
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
    if settings.mqtt_tls:
        client.tls_set_context(client_context(settings.mqtt_ca_file))
