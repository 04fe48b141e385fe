# The kiosk's MQTT connection: chumicro-mqtt, non-blocking, so the reader loop
# never stalls on the network. One object owns the socket; the kiosk hands it
# messages and polls it once per loop. The transport is TLS with the pinned CA
# (ssl_context from firmware/core/tls.py) or, only where the config says
# "tls": false, plain TCP.
#
# Brokers and reconnection (docs/protocol.md, "Kiosk configuration"): the
# link dials the brokers of reconnect.Reconnect in turn and, after a failed
# connect or a lost connection, waits its jittered backoff: chumicro-mqtt's
# own retry (un-jittered, one endpoint) is held and released by this object.
#
# Subscriptions: a SUBSCRIBE lost with the connection (a cable pulled before
# the SUBACK) is not lost for good: chumicro-mqtt declares its subscriptions
# again only when the broker has no session for us, and with clean_session
# false the broker resumes the session the CONNECT created, without them.
# So every topic whose SUBACK has not come is subscribed again on each
# connect (SUBSCRIBE is idempotent).

import chumicro_sockets
from chumicro_mqtt import MQTTClient
from chumicro_mqtt.client import ProtocolState

from firmware.core import protocol
from firmware.core.reconnect import Reconnect
from firmware.core.ticks import ticks_add, ticks_diff

KEEPALIVE_S = 30  # the broker declares us dead (LWT) after 45 s of silence
RX_BUFFER = 1024  # larger messages (a long badge list) take the oversized path


class MqttLink:
    def __init__(self, kiosk_id, host, port, username=None, password=None,
                 on_message=None, on_connect=None, birth=None, ssl_context=None, on_error=None,
                 brokers=None, rand=None):
        """brokers: [(host, port), ...] to dial in turn (default: host, port
        alone); rand: the backoff's random source in [0, 1) (tests seed it)."""
        self.kiosk_id = kiosk_id
        self.tls = ssl_context is not None  # reported in telemetry ("tls")
        self._ctx = ssl_context
        self.reconnect = Reconnect(brokers or [(host, port)], kiosk_id, rand)
        self.endpoint = "{}:{}".format(*self.reconnect.current())
        self.retry_at = None  # ticks_ms of the next dial while the backoff holds the client
        self.last_delay = None  # the last backoff delay drawn (ms)
        self.last_error = None  # text of the last failed connect, None once connected
        self._on_error = on_error  # on_error(text): a new connect failure (crash-log line)
        self._err_seen = None
        self._birth = birth or {}
        self._on_connect_cb = on_connect
        self.client = MQTTClient(
            transport_factory=self._dial,
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
        # topics whose SUBACK has not come yet: subscribed again on each connect
        self.unconfirmed = [protocol.topic(kiosk_id, leaf) for leaf in (protocol.ACK, protocol.CONFIG, protocol.CMD)]
        self.unconfirmed.append(protocol.INGEST_UP)
        for t in self.unconfirmed:
            self._subscribe(t)
        self.connects = 0

    def _dial(self):
        # chumicro-mqtt's transport factory: a connector to the broker the
        # backoff points at now.
        host, port = self.reconnect.current()
        self.endpoint = "{}:{}".format(host, port)
        return chumicro_sockets.connector(host, port, tls=self.tls, context=self._ctx)

    def _subscribe(self, t):
        # The ingest notice is QoS 0 end to end: a QoS 1 subscription would only
        # cost a durable consumer per kiosk where the broker keeps one (NATS
        # JetStream backs every QoS 1 subscription with a consumer).
        self.client.subscribe(t, 0 if t == protocol.INGEST_UP else 1, on_subscribe=self._subacked)

    def _subacked(self, topic, granted_qos):
        if topic in self.unconfirmed:
            self.unconfirmed.remove(topic)

    def _on_connect(self):
        self.connects += 1
        self.last_error = None
        self.reconnect.connected()
        # A resumed session lacks a SUBSCRIBE the broker never got; a fresh one
        # was just given every topic by chumicro-mqtt (a second SUBSCRIBE of the
        # same topic only makes the broker send its retained message again).
        for t in list(self.unconfirmed):
            self._subscribe(t)
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
        c = self.client
        if self.retry_at is not None:
            if ticks_diff(now_ms, self.retry_at) < 0:
                return
            self.retry_at = None
            c.connect()  # released: the next handle() dials reconnect.current()
        if c.check(now_ms):
            c.handle(now_ms)
        if c.state == ProtocolState.FAILED:
            err = c.last_error
            if err is not None and err is not self._err_seen:
                self._err_seen = err  # each failure once: no string work on every poll
                self._failed(err)
            # a failed connect or a lost connection: the next broker, after a jittered delay
            c.hold()
            self.last_delay = self.reconnect.failed()
            self.retry_at = ticks_add(now_ms, self.last_delay)

    def _failed(self, err):
        # A refused TLS handshake (wrong CA, expired certificate, wrong name) or
        # any other failed connect: reported once per distinct reason, not on
        # every retry (flash wear).
        text = " ".join(str(err).split())
        if text == self.last_error:
            return
        self.last_error = text
        if self._on_error is not None:
            self._on_error("mqtt: {}{} refused: {}".format(self.endpoint, " (TLS)" if self.tls else "", text))

    def stop(self):
        self.retry_at = None
        try:
            self.client.disconnect()
        except Exception:
            pass


def brokers_of(broker, port):
    """[(host, port), ...] of kiosk.json's "broker" section: its "nodes" list
    when there is one (each {"host", "port"}, port defaulting to the section's),
    else its single "host" (docs/protocol.md, "Kiosk configuration")."""
    nodes = broker.get("nodes")
    if not nodes:
        return [(broker["host"], port)]
    return [(n["host"], n.get("port", port)) for n in nodes]


def from_config(kiosk_id, broker, on_error=None, birth=None, root="", rand=None):
    """The link kiosk.json's "broker" section asks for: TLS with the pinned CA
    unless "tls" is false, to its "nodes" in turn (or its one "host"). Raises
    tls.TlsConfigError (a config that cannot give a verified link: the kiosk
    records it and keeps journaling offline)."""
    ctx = None
    if broker.get("tls", True) is not False:  # tls.wants_tls; imported only where TLS is used
        from firmware.core import tls
        ctx = tls.context(broker, root)
    port = broker.get("port", 8883 if ctx is not None else 1883)
    brokers = brokers_of(broker, port)
    return MqttLink(kiosk_id, brokers[0][0], brokers[0][1], broker.get("username"), broker.get("password"),
                    birth=birth, ssl_context=ctx, on_error=on_error, brokers=brokers, rand=rand)
