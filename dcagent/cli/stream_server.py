"""`dcagent stream-server FILE.dcb... --broker URL`: answer block requests for these files.

Each file is served under its stream id (the first 16 hex digits of its SHA-256) through a
shared subscription, so several stream servers on several machines form one pool.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from dcagent.cli.console import Console
from dcagent.cli.mqtt_options import add_broker_arguments, tls_options
from dcagent.fleet import topics
from dcagent.fleet.broker import BrokerClient
from dcagent.fleet.publisher import StreamServer
from host.container.reader import read_container


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stream-server", help="serve block streams of .dcb files over MQTT",
                                   description=__doc__)
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE.dcb")
    add_broker_arguments(parser)
    parser.add_argument("--group", default=topics.STREAM_SERVER_GROUP, help="shared-subscription group of the pool")
    parser.add_argument("--client-id", help="MQTT client id (default: dcagent-streams-<pid>)")
    parser.add_argument("--rate", type=float, metavar="BYTES_PER_S", help="limit the block rate")
    parser.add_argument("--data-qos", type=int, choices=(0, 1), default=0,
                        help="QoS of block messages (default 0: devices ask again for missing blocks)")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after this many seconds")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, console: Console) -> int:
    client = BrokerClient(args.broker, args.client_id or f"dcagent-streams-{os.getpid()}", tls=tls_options(args),
                          max_inflight=1000)
    server = StreamServer(client, group=topics.check_name(args.group, "group"), rate_limit=args.rate,
                          data_qos=args.data_qos)
    for path in args.files:
        container = read_container(path)
        if not container.signed:
            console.info(f"warning: {path} is unsigned; devices will refuse it")
        stream_id = server.add(container.data)
        console.info(f"{path}: stream {stream_id}")
    client.connect()
    try:
        server.start()
        console.info(f"ready: serving {len(server.files)} stream(s) as group {args.group}")
        started = time.monotonic()
        try:
            while args.duration is None or time.monotonic() - started < args.duration:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        server.stop()
    finally:
        client.close()
    s = server.stats
    console.result(f"served {s.requests} requests from {len(s.devices)} devices: {s.blocks} blocks, {s.bytes} bytes, "
                   f"{s.rejected} rejected")
    return 0
