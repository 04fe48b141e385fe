"""All configuration, read once from the environment (NOXUS_*) or .env."""

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOXUS_", env_file=".env", extra="ignore")

    # SQLite (WAL) is the embedded default; PostgreSQL by URL, e.g.
    # postgresql+psycopg://user@127.0.0.1:5432/noxus
    database_url: str = "sqlite:///var/noxus.db"

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    # The backend's MQTT clients over TLS (certificate and host name verified): needed when the
    # broker is not on this host's loopback. mqtt_ca_file pins a CA (PEM); unset: system store.
    mqtt_tls: bool = False
    mqtt_ca_file: str | None = None

    # Each ingest worker needs its own client id (its persistent session);
    # all workers share one subscription group, so the broker spreads batches.
    ingest_client_id: str = "noxus-ingest-1"
    # "" for a single worker on Mosquitto: a plain subscription survives a broker
    # restart, a `$share` one does not (docs/deployment.md).
    ingest_share_group: str = "ingest"
    ingest_max_messages: int = 500  # MQTT messages committed in one transaction
    # False: a restarted worker gets back what the broker queued for it. Mosquitto
    # keeps dealing a share of the batches to a stopped worker's session, so a
    # worker removed for good must expire (persistent_client_expiration) or run
    # once with True; kiosks resend what was never acked (docs/deployment.md).
    ingest_clean_session: bool = False
    ingest_accept_unknown_kiosks: bool = False
    # The broker adapter around the ingest service (docs/deployment.md):
    # "mqtt" — one MQTT broker with shared subscriptions (Mosquitto, the
    # embedded default); "nats" — a NATS cluster: kiosks on its MQTT gateway,
    # workers on a replicated JetStream stream with one durable consumer.
    ingest_broker: Literal["mqtt", "nats"] = "mqtt"
    nats_servers: list[str] = ["nats://127.0.0.1:4222"]  # any node: the client fails over
    nats_stream: str = "NOXUS_INGEST"
    nats_durable: str = "ingest"  # one consumer shared by all workers (competing)
    nats_stream_replicas: int = 3  # copies of each message: survives the loss of one node
    nats_ack_wait_s: float = 30.0  # unacked this long (worker dead): redelivered to another
    nats_max_ack_pending: int = 20000  # messages handed out and not yet acked, all workers
    nats_max_age_days: int = 30  # an unconsumed message older than this is dropped (kiosks still hold it)

    timezone: str = "Europe/Zurich"

    # HR attendance (docs/hr.md)
    hr_max_shift_hours: int = 16  # an IN without OUT after this long is a "missing punch" exception
    hr_duplicate_tap_seconds: int = 60  # a second tap within this is merged, not toggled
    hr_max_period_days: int = 93  # longest timesheet/export period in one request

    # Fleet monitoring (docs/fleet.md). Kiosks send telemetry every 60 s.
    fleet_offline_after_s: int = 180  # no birth/telemetry for 3 heartbeats: offline
    fleet_offline_alert_minutes: int = 15  # a deployed kiosk offline this long: alert
    fleet_journal_alert_fill: float = 0.8
    fleet_clock_skew_s: int = 60
    fleet_low_flash_bytes: int = 64 * 1024
    fleet_reboot_window_minutes: int = 60
    fleet_reboot_alert_count: int = 3  # this many boots within the window: alert
    fleet_telemetry_raw_hours: int = 48  # then folded into hourly rows
    fleet_telemetry_keep_days: int = 400
    # Each ingest worker serves Prometheus metrics on this port (0: off).
    ingest_metrics_port: int = 0
    ingest_metrics_host: str = "127.0.0.1"

    # security (issue 9, docs/security.md)
    session_hours: int = 12
    cookie_secure: bool = True  # set False only for plain-http local development
    # argon2id cost (OWASP 2024 minimum is 19 MiB, t=2; these are pwdlib's defaults); tests lower them
    argon2_memory_kib: int = 65536
    argon2_time_cost: int = 3
    login_max_failures: int = 5  # consecutive failures of one account before lock-out
    login_lockout_minutes: int = 15
    login_ip_window_minutes: int = 15  # failures per IP counted over this window...
    login_ip_max_failures: int = 20  # ...beyond which that IP gets 429
    # where people reach the web UI: links in e-mails (invitations) start with it
    public_url: str = "http://127.0.0.1:8000"
    invitation_hours: int = 72  # an invitation link works once, until then
    # data protection (docs/privacy.md)
    retention_years_default: int = 5  # time records, unless the customer's policy says otherwise
    dsr_deadline_days: int = 7
    breach_notify_hours: int = 72
    # who is told at once, through the outbox, when a breach is recorded (the 72 h clock starts)
    breach_contact_email: str = ""
    # Signs the one-line banners a page passes to the next through its redirect URL (err=, msg=),
    # so a crafted link cannot show a text of its choosing (noxus.web.flash). Unset: a random key
    # per process (set it when several API processes serve one site).
    flash_secret: str | None = None
    backup_dir: str = "var/backups"
    backup_keep_days: int = 7
    # Backups are encrypted (AES-256-GCM, docs/security.md "Backups"); none is written without a
    # key. NOXUS_BACKUP_KEY or a file holding it (NOXUS_BACKUP_KEY_FILE), made by `noxus backup-key`;
    # after a rotation the previous keys stay in NOXUS_BACKUP_OLD_KEYS (a JSON list) for restores.
    backup_key: SecretStr | None = None
    backup_key_file: str | None = None
    backup_old_keys: list[SecretStr] = []
    # billing (docs/billing.md): the creditor printed on QR-bills and the dunning policy
    # The shipped values are placeholders: production refuses to start with them (billing/config.py).
    billing_creditor_name: str = "NOXUS Informatique SàRL"
    billing_creditor_street: str = "Rue de la Gare"
    billing_creditor_house_num: str = "1"
    billing_creditor_postcode: str = "1003"
    billing_creditor_town: str = "Lausanne"
    billing_creditor_country: str = "CH"
    billing_creditor_email: str = "facturation@noxus.example"
    billing_vat_number: str = "CHE-123.456.789 TVA"
    # a QR-IBAN (IID 30000-31999) gives QRR references; a plain IBAN gives SCOR (ISO 11649)
    billing_iban: str = "CH4431999123000889012"
    billing_payment_days: int = 10  # §7.1, counted from the issue date
    # the run makes drafts; the daily job issues drafts this many days after they were made
    # (None: only the clerk issues them; 0: issued at once)
    billing_auto_issue_days: int | None = None
    billing_catch_up_months: int = 12  # months before today's the daily job checks for missing invoices
    # True only for the demo and tests: accept the shipped placeholder creditor data
    billing_demo: bool = False
    billing_reminder_days: list[int] = [10, 20, 30]  # days after the due date, one per level
    billing_reminder_fee_centimes: int = 2000  # per reminder
    billing_late_interest_bp: int = 500  # per year (5 %; 1000 for the DSwiss terms)
    billing_suspend_at_level: int = 2  # suspension after this reminder (0: never)
    billing_suspend_restricts: list[str] = ["exports", "badges"]  # what suspension blocks: exports, badges
    billing_retrieval_after_months: int = 2  # §7.6
    billing_retrieval_deadline_days: int = 10  # payment deadline given in the notice
    billing_index_cap_bp: int = 500  # annual index revision cap
    billing_index_notice_days: int = 30
    billing_usage_lookback_months: int = 2  # months re-counted for late-punch adjustments
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False  # production: true (deploy/systemd/noxus.env); certificates verified
    smtp_ca_file: str | None = None  # PEM CA for the SMTP server; unset: system store
    smtp_from: str = "facturation@noxus.example"
    # provisioning (docs/provisioning.md): per-kiosk MQTT accounts in Mosquitto's password file,
    # which the backend host must be able to write; the reload command makes Mosquitto re-read it
    mqtt_password_file: str | None = None
    mqtt_reload_command: str | None = None  # e.g. "systemctl reload mosquitto"
    kiosk_mqtt_host: str = "127.0.0.1"  # the broker as kiosks reach it (written into their config)
    kiosk_mqtt_port: int = 1883
    # A cluster's nodes as kiosks reach them, "host" or "host:port" each (a JSON list in the
    # environment): written into kiosk.json as broker.nodes, so a kiosk moves to another node
    # when its own is down (docs/deployment.md). Empty: the one kiosk_mqtt_host.
    kiosk_mqtt_nodes: list[str] = []
    kiosk_mqtt_tls: bool = False
    # The CA kiosks pin (PEM, installed on each kiosk at enrollment) and the name on the broker's
    # certificate when kiosk_mqtt_host is an address (docs/security.md)
    kiosk_mqtt_ca_file: str | None = None
    kiosk_mqtt_server_hostname: str | None = None
    claim_ttl_hours: int = 72  # an unapproved claim code expires after this
    # public claim endpoints: requests per minute per source address and per board id (a kiosk
    # polls every 10-300 s with backoff; a site behind one NAT may hold a few dozen kiosks)
    claim_rate_per_source: int = 120
    claim_rate_per_board: int = 12

    @field_validator("kiosk_mqtt_nodes")
    @classmethod
    def _nodes(cls, nodes: list[str]) -> list[str]:
        for node in nodes:
            split_node(node, 1)  # refused at start-up, not at the first enrollment
        return nodes


def split_node(node: str, default_port: int) -> tuple[str, int]:
    """("mq1.example", 8883) from "mq1.example:8883", or from "mq1.example" and the default."""
    host, sep, port = node.strip().rpartition(":")
    if not sep:
        host, port = port, str(default_port)
    if not host or ":" in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"broker node {node!r} is not host or host:port (a name or an IPv4 address)")
    return host, int(port)


@lru_cache
def get_settings() -> Settings:
    return Settings()
