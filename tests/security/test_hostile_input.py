"""Hostile input at the backend's borders, with Hypothesis: MQTT messages into the ingest, and
camt.054 bank files (XML bombs and external entities refused by defusedxml)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from noxus.billing.camt import CamtError, parse
from noxus.fleet.models import Kiosk
from noxus.ingest.models import DeadLetter, Punch
from noxus.ingest.service import Incoming, ingest
from sqlmodel import Session, func, select

from firmware.core import protocol

FAST = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@FAST
@given(st.binary(max_size=2048))
def test_camt_random_bytes_give_camterror_or_a_list(data):
    try:
        assert isinstance(parse(data), list)
    except CamtError:
        pass


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>&lol3;</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>&x;</MsgId></GrpHdr></BkToCstmrDbtCdtNtfctn></Document>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_camt_refuses_entity_tricks(doc):
    with pytest.raises(CamtError, match="refused"):
        parse(doc)


topics = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["punch", "state", "telemetry", "ack", "cmd/result", "x"]).map(
        lambda leaf: f"noxus/v1/K1/{leaf}"
    ),
    st.sampled_from(["punch", "state"]).map(lambda leaf: f"noxus/v1/K2/{leaf}"),
)
payloads = st.one_of(
    st.binary(max_size=512),
    st.builds(
        lambda kid, seq, uid: protocol.encode_punch_batch(kid, [protocol.Punch(seq, uid, 1_764_000_000_000)]),
        st.sampled_from(["K1", "K2"]),
        st.integers(1, 50),
        st.sampled_from(["04A1B2C3", "0102030405060708"]),
    ),
    st.dictionaries(
        st.sampled_from(["v", "kiosk", "punches", "from", "seq"]),
        st.one_of(st.integers(-5, 5), st.text(max_size=5), st.none()),
        max_size=5,
    ).map(lambda d: json.dumps(d).encode()),
)


@pytest.fixture
def sqlite_engine(tmp_path):
    from noxus.core.db import make_engine
    from noxus.core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    upgrade(url)
    eng = make_engine(url)
    with Session(eng) as s:
        s.add(Kiosk(id="K1", name="known"))
        s.commit()
    yield eng
    eng.dispose()


@FAST
@given(batch=st.lists(st.tuples(topics, payloads), min_size=1, max_size=8))
def test_ingest_never_raises_and_accounts_for_every_message(sqlite_engine, batch):
    with Session(sqlite_engine) as s:
        dead0 = s.exec(select(func.count()).select_from(DeadLetter)).one()
        out = ingest(s, [Incoming(t, p) for t, p in batch])
        s.commit()
        dead = s.exec(select(func.count()).select_from(DeadLetter)).one() - dead0
        assert dead == out.dead
        # nothing from the unknown kiosk K2, nothing with a kiosk id differing from its topic
        assert s.exec(select(Punch).where(Punch.kiosk_id != "K1")).first() is None
