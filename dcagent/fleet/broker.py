"""MQTT broker URLs, TLS options, and a thin client over paho-mqtt 2.x (MQTT v5).

`parse_broker_url` reads `mqtt://[user[:password]@]host[:port]` (default port 1883) and
`mqtts://...` (TLS, default port 8883). `BrokerClient` connects (raising a typed error on
refusal), reconnects with exponential backoff after a lost link (paho's loop thread),
re-subscribes after every reconnect, dispatches messages to per-filter handlers, and turns
refused subscriptions and publications (SUBACK/PUBACK reason codes >= 0x80) into
`NotAuthorizedError`.
"""
from __future__ import annotations

import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from dcagent.errors import ConfigError
from dcagent.fleet.errors import BrokerError, NotAuthorizedError

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
NOT_AUTHORIZED = 0x87
UNSPECIFIED_ERROR = 0x80
Handler = Callable[[str, bytes, bool], None]
"""A message handler: (topic, payload, retained). Runs in the client's network thread."""


@dataclass(frozen=True)
class BrokerUrl:
    """Where the broker is and how to log in. `tls` is true for mqtts://."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerUrl:
    """Parse `mqtt[s]://[user[:password]@]host[:port]`. Raises ConfigError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"broker URL {url!r}: {exc}") from exc
    if parts.scheme not in DEFAULT_PORTS:
        raise ConfigError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ConfigError(f"broker URL {url!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"broker URL {url!r}: no path, query or fragment allowed")
    return BrokerUrl(host=parts.hostname, port=port or DEFAULT_PORTS[parts.scheme], tls=parts.scheme == "mqtts",
                     username=unquote(parts.username) if parts.username else None,
                     password=unquote(parts.password) if parts.password is not None else None)


@dataclass(frozen=True)
class TlsOptions:
    """TLS settings for mqtts://: the CA that signed the broker, and a client certificate if the
    broker asks for one. Without `ca_file` the system's trusted CAs are used."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """An SSLContext verifying the broker (hostname too). Raises ConfigError for bad files."""
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                                 cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file:
                context.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"TLS files cannot be used: {exc}") from exc
        return context


def _share_stripped(topic_filter: str) -> str:
    if topic_filter.startswith("$share/"):
        return topic_filter.split("/", 2)[2]
    return topic_filter


def _code(reason: ReasonCode | int) -> int:
    return reason.value if isinstance(reason, ReasonCode) else int(reason)


class BrokerClient:
    """One MQTT v5 connection. Thread-safe; handlers run in paho's network thread.

    `clean_start=False` with `session_expiry` > 0 keeps the session (subscriptions, queued
    QoS 1 messages) at the broker across short disconnects (docs/protocol.md, MQTT section 3).
    """

    def __init__(self, url: BrokerUrl | str, client_id: str, *, tls: TlsOptions | None = None,
                 clean_start: bool = True, session_expiry: int = 0, keepalive: int = 30,
                 reconnect_min: float = 0.2, reconnect_max: float = 5.0, max_inflight: int = 100) -> None:
        self.url = parse_broker_url(url) if isinstance(url, str) else url
        self.client_id = client_id
        self.clean_start = clean_start
        self.session_expiry = session_expiry
        self.keepalive = keepalive
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                                   reconnect_on_failure=True)
        if self.url.username is not None:
            self._client.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            self._client.tls_set_context((tls or TlsOptions()).context())
        elif tls is not None and (tls.ca_file or tls.cert_file):
            raise ConfigError("TLS files given for a plain mqtt:// URL", hint="use mqtts:// for TLS")
        self._client.reconnect_delay_set(min_delay=max(1, round(reconnect_min)), max_delay=max(1, round(reconnect_max)))
        self.max_inflight = max_inflight
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._first = threading.Event()
        self._connect_result: int | None = None
        self._subscriptions: dict[str, tuple[int, Handler]] = {}
        self._suback: dict[int, list[int]] = {}
        self._suback_cond = threading.Condition(self._lock)
        self._refused: OrderedDict[int, int] = OrderedDict()
        self._on_connect_hooks: list[Callable[[], None]] = []
        self.connects = 0
        self.started = False

    # --- connection ----------------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> "BrokerClient":
        """Connect and start the network thread. Raises BrokerError (unreachable, TLS failure,
        timeout) or NotAuthorizedError (bad user name or password: CONNACK 0x86/0x87)."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry
        try:
            self._client.connect(self.url.host, self.url.port, keepalive=self.keepalive,
                                 clean_start=self.clean_start, properties=props)
        except ssl.SSLError as exc:
            raise BrokerError(f"TLS handshake with {self.url} failed: {exc.reason or exc}",
                              hint="check the CA file, the client certificate and that the port speaks TLS") from exc
        except OSError as exc:
            raise BrokerError(f"cannot connect to {self.url}: {exc.strerror or exc}") from exc
        self._client.loop_start()
        self.started = True
        if not self._first.wait(timeout):
            self.close()
            raise BrokerError(f"no CONNACK from {self.url} within {timeout} s",
                              hint="is it an MQTT port, and TLS (mqtts://) where the broker expects TLS?")
        code = self._connect_result
        if code is None or code >= UNSPECIFIED_ERROR:
            self.close()
            if code in (0x86, NOT_AUTHORIZED, 0x85):
                raise NotAuthorizedError(f"{self.url} refused the connection: bad user name or password "
                                         f"(reason {code:#04x})", reason_code=code)
            if code is None:
                raise BrokerError(f"{self.url} closed the connection before CONNACK",
                                  hint="a TLS port needs mqtts://; a plain port needs mqtt://")
            raise BrokerError(f"{self.url} refused the connection (reason {code:#04x})", reason_code=code)
        return self

    def add_connect_hook(self, hook: Callable[[], None]) -> None:
        """Call `hook` (in the network thread) after every successful (re)connect."""
        self._on_connect_hooks.append(hook)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self) -> None:
        """Disconnect (cleanly when connected) and stop the network thread."""
        try:
            self._client.disconnect()
        except Exception:  # noqa: BLE001 - closing must not fail
            pass
        if self.started:
            self._client.loop_stop()
            self.started = False
        self._connected.clear()

    def __enter__(self) -> "BrokerClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- callbacks (network thread) ------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        code = _code(reason_code)
        self._connect_result = code
        if code < UNSPECIFIED_ERROR:
            self.connects += 1
            receive_maximum = getattr(properties, "ReceiveMaximum", None) if properties is not None else None
            if receive_maximum:   # MQTT v5: never more QoS 1 messages in flight than the broker accepts
                client.max_inflight_messages_set(min(self.max_inflight, receive_maximum))
            self._connected.set()
            with self._lock:
                subs = list(self._subscriptions.items())
            for topic_filter, (qos, _) in subs:
                client.subscribe(topic_filter, qos=qos)
            for hook in self._on_connect_hooks:
                hook()
        self._first.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self._connected.clear()
        self._first.set()

    def _on_message(self, client, userdata, message) -> None:  # noqa: ANN001
        with self._lock:
            handlers = [h for f, (_, h) in self._subscriptions.items()
                        if mqtt.topic_matches_sub(_share_stripped(f), message.topic)]
        for handler in handlers:
            handler(message.topic, bytes(message.payload), bool(message.retain))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # noqa: ANN001
        with self._suback_cond:
            self._suback[mid] = [_code(r) for r in reason_codes]
            self._suback_cond.notify_all()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:  # noqa: ANN001
        code = _code(reason_code)
        if code >= UNSPECIFIED_ERROR:
            with self._lock:
                self._refused[mid] = code
                while len(self._refused) > 4096:
                    self._refused.popitem(last=False)

    # --- operations ----------------------------------------------------------------------
    def subscribe(self, topic_filter: str, handler: Handler, *, qos: int = 1, timeout: float = 10.0) -> None:
        """Subscribe and wait for the SUBACK; keep the subscription across reconnects.

        Raises NotAuthorizedError when the broker refuses it (SUBACK 0x80 or 0x87), BrokerError
        when no SUBACK arrives within `timeout`.
        """
        with self._lock:
            self._subscriptions[topic_filter] = (qos, handler)
        result, mid = self._client.subscribe(topic_filter, qos=qos)
        if result == mqtt.MQTT_ERR_NO_CONN:
            return  # the link is down: the subscription is made on reconnect (SUBACK unchecked)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerError(f"cannot subscribe to {topic_filter}: {mqtt.error_string(result)}")
        deadline = time.monotonic() + timeout
        with self._suback_cond:
            while mid not in self._suback:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrokerError(f"no SUBACK for {topic_filter} within {timeout} s")
                self._suback_cond.wait(left)
            codes = self._suback.pop(mid)
        if any(c >= UNSPECIFIED_ERROR for c in codes):
            with self._lock:
                self._subscriptions.pop(topic_filter, None)
            code = max(codes)
            raise NotAuthorizedError(f"the broker refused the subscription to {topic_filter} (SUBACK {code:#04x})",
                                     reason_code=code, hint="the broker's ACL does not let this user read it")

    def unsubscribe(self, topic_filter: str) -> None:
        with self._lock:
            self._subscriptions.pop(topic_filter, None)
        self._client.unsubscribe(topic_filter)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False,
                wait: bool = True, timeout: float = 10.0) -> None:
        """Publish `payload`. With qos 1 and `wait`, wait for the PUBACK and check its reason code.

        Raises NotAuthorizedError when the broker answers PUBACK 0x87 (ACL), BrokerError when
        the message cannot be sent or no PUBACK arrives within `timeout`. Without `wait`
        (or with qos 0) a refusal goes unnoticed: the broker drops the message.
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN) and not (qos and info.rc == mqtt.MQTT_ERR_AGAIN):
            raise BrokerError(f"cannot publish to {topic}: {mqtt.error_string(info.rc)}")
        if not wait or qos == 0:
            return
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            raise BrokerError(f"cannot publish to {topic}: not connected to {self.url}")
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:
            raise BrokerError(f"publishing to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise BrokerError(f"no PUBACK for {topic} within {timeout} s")
        with self._lock:
            code = self._refused.pop(info.mid, None)
        if code is not None:
            error = NotAuthorizedError if code == NOT_AUTHORIZED else BrokerError
            raise error(f"the broker refused the publication to {topic} (PUBACK {code:#04x})", reason_code=code)
