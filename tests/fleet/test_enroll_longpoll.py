"""An open enrollment long poll holds no server worker thread: 50 technicians waiting for a
badge tap at once, and the API still answers everybody else; the one tap then answers all 50."""

import asyncio
import threading

import httpx
import paho.mqtt.client as mqtt
import pytest
from noxus.core.settings import get_settings
from noxus.fleet.models import Kiosk, KioskCredential
from sqlmodel import Session

from firmware.core import protocol

POLLS = 50  # more than the server's 40 worker threads: a sync wait would starve the pool
DEADLINE_S = 60


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fifty_open_enroll_tap_polls_leave_the_api_answering_and_one_tap_answers_all(
    noxus_app, engine, login_as, broker
):
    with Session(engine) as s:
        s.add(Kiosk(id="K-POLL", name="hall"))
        s.flush()
        s.add(KioskCredential(kiosk_id="K-POLL", username="K-POLL", minted_by="test"))
        s.commit()
    login_as("admin")
    settings = get_settings().model_copy(update={"mqtt_host": "127.0.0.1", "mqtt_port": broker.port})
    noxus_app.dependency_overrides[get_settings] = lambda: settings

    # the kiosk's side: every open poll sends it one enrollment_mode command once subscribed
    commands = []
    lock = threading.Lock()
    subscribed = threading.Event()
    kiosk = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-kiosk-K-POLL")

    def on_message(_c, _u, msg):
        with lock:
            commands.append(msg.payload)

    kiosk.on_message = on_message
    kiosk.on_subscribe = lambda *_a: subscribed.set()
    kiosk.connect("127.0.0.1", broker.port)
    kiosk.subscribe(protocol.topic("K-POLL", protocol.CMD), 1)
    kiosk.loop_start()
    assert subscribed.wait(DEADLINE_S)

    async def scenario():
        transport = httpx.ASGITransport(app=noxus_app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://testserver", timeout=120
        ) as client:
            polls = [
                asyncio.create_task(
                    client.post("/api/v1/enrollment/kiosks/K-POLL/enroll-tap", json={"timeout_s": 30})
                )
                for _ in range(POLLS)
            ]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DEADLINE_S
            while len(commands) < POLLS:  # every poll is open and subscribed
                assert loop.time() < deadline, f"only {len(commands)} of {POLLS} polls got going"
                assert not any(p.done() for p in polls), [p.result().text for p in polls if p.done()][:1]
                await asyncio.sleep(0.02)
            # another user's request, served by a worker thread, while all 50 still wait
            other = await client.get("/api/v1/kiosks/K-POLL")
            assert other.status_code == 200, other.text
            assert not any(p.done() for p in polls)
            # the badge tap: one enroll punch answers every open poll
            batch = protocol.encode_punch_batch(
                "K-POLL", [protocol.Punch(1, "04A1B2C3", ts_ms=1_700_000_000_000, kind=protocol.KIND_ENROLL)]
            )
            kiosk.publish(protocol.topic("K-POLL", protocol.PUNCH), batch, qos=1).wait_for_publish(DEADLINE_S)
            return await asyncio.wait_for(asyncio.gather(*polls), DEADLINE_S)

    try:
        answers = asyncio.run(scenario())
    finally:
        kiosk.disconnect()
        kiosk.loop_stop()
    assert [(r.status_code, r.json()["uid"]) for r in answers] == [(200, "04A1B2C3")] * POLLS
