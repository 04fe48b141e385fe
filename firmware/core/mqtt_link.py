# The kiosk's MQTT connection: chumicro-mqtt, non-blocking, so the reader loop
# never stalls on the network. One object owns the socket; the kiosk hands it
# messages and polls it once per loop. The transport is TLS with the pinned CA
# (ssl_context from firmware/core/tls.py) or, only where the config says
# "tls": false, plain TCP.

from chumicro_mqtt import MQTTClient
from chumicro_mqtt.client import ProtocolState
from chumicro_sockets.sockets_factory import fixed_connector_factory

from firmware.core import protocol

KEEPALIVE_S = 30  # the broker declares us dead (LWT) after 45 s of silence
RX_BUFFER = 1024  # larger messages (a long badge list) take the oversized path


class MqttLink:
    def __init__(self, kiosk_id, host, port, username=None, password=None,
                 on_message=None, on_connect=None, birth=None, ssl_context=None, on_error=None):
        self.kiosk_id = kiosk_id
        self.tls = ssl_context is not None  # reported in telemetry ("tls")
        self.endpoint = f"{host}:{port}"
        self.last_error = None  # text of the last failed connect, None once connected
        self._on_error = on_error  # on_error(text): a new connect failure (crash-log line)
        self._err_seen = None
        self._birth = birth or {}
        self._on_connect_cb = on_connect
        self.client = MQTTClient(
            transport_factory=fixed_connector_factory(host, port, use_tls=self.tls,
                                                      ssl_context=ssl_context),
            client_id="kiosk-" + kiosk_id,
            keep_alive_seconds=KEEPALIVE_S,
            username=username, password=password,
            # A persistent session keeps our acks queued at the broker while we
            # are offline, and chumicro resends unacked PUBLISHes with DUP.
            clean_session=False,
            will_topic=protocol.topic(kiosk_id, protocol.STATE),
            will_message=protocol.encode_state(kiosk_id, False),
            will_qos=1, will_retain=True,
            rx_buffer_size=RX_BUFFER,
        )
        self.client.on_connect = self._on_connect
        if on_message is not None:
            self.client.on_message = on_message
        for leaf in (protocol.ACK, protocol.CONFIG, protocol.CMD):
            self.client.subscribe(protocol.topic(kiosk_id, leaf), 1)
        self.connects = 0

    def _on_connect(self):
        self.connects += 1
        self.last_error = None
        self.client.publish(protocol.topic(self.kiosk_id, protocol.STATE),
                            protocol.encode_state(self.kiosk_id, True, **self._birth),
                            qos=1, retain=True)
        if self._on_connect_cb is not None:
            self._on_connect_cb()

    def start(self):
        self.client.connect()

    def up(self):
        return self.client.state == ProtocolState.CONNECTED

    def publish(self, topic, payload, retain=False):
        self.client.publish(topic, payload, qos=1, retain=retain)

    def poll(self, now_ms):
        if self.client.check(now_ms):
            self.client.handle(now_ms)
            err = self.client.last_error
            if err is not None and err is not self._err_seen and self.client.state == ProtocolState.FAILED:
                self._err_seen = err  # each failure once: no string work on every poll
                self._failed(err)

    def _failed(self, err):
        # A refused TLS handshake (wrong CA, expired certificate, wrong name) or
        # any other failed connect: reported once per distinct reason, not on
        # every retry (flash wear). chumicro retries with its own backoff.
        text = " ".join(str(err).split())
        if text == self.last_error:
            return
        self.last_error = text
        if self._on_error is not None:
            self._on_error("mqtt: {}{} refused: {}".format(self.endpoint, " (TLS)" if self.tls else "", text))

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:
            pass


def from_config(kiosk_id, broker, on_error=None, birth=None, root=""):
    """The link kiosk.json's "broker" section asks for: TLS with the pinned CA
    unless "tls" is false. Raises tls.TlsConfigError (a config that cannot give
    a verified link: the kiosk records it and keeps journaling offline)."""
    ctx = None
    if broker.get("tls", True) is not False:  # tls.wants_tls; imported only where TLS is used
        from firmware.core import tls
        ctx = tls.context(broker, root)
    port = broker.get("port", 8883 if ctx is not None else 1883)
    return MqttLink(kiosk_id, broker["host"], port, broker.get("username"), broker.get("password"),
                    birth=birth, ssl_context=ctx, on_error=on_error)
