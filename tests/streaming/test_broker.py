from __future__ import annotations

import subprocess

from shopfloor.streaming.broker import MosquittoBroker


def test_broker_delivers_and_keeps_queued_messages_across_a_restart(
    broker: MosquittoBroker,
) -> None:
    host, port = broker.host, str(broker.port)
    sub = ["mosquitto_sub", "-h", host, "-p", port, "-q", "1", "-t", "t/#", "-i", "keeper"]
    # register a persistent session, then go away
    subprocess.run([*sub, "-c", "-W", "1"], capture_output=True, check=False)
    for i in range(5):
        subprocess.run(
            ["mosquitto_pub", "-h", host, "-p", port, "-q", "1", "-t", "t/x", "-m", str(i)],
            check=True,
        )
    broker.restart()
    out = subprocess.run(
        [*sub, "-c", "-C", "5", "-W", "5"], capture_output=True, text=True, check=False
    )
    assert out.stdout.split() == ["0", "1", "2", "3", "4"]
