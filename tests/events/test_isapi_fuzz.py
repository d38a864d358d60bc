"""Fuzzing the ISAPI adapter: random bytes, truncated and mutated fixtures, wrong encodings, odd
values. It never raises anything but Rejected, what it makes always passes normalisation, and
through the pipeline every push ends as events or dead letters (rows counted)."""

from __future__ import annotations

from xml.sax.saxutils import escape

import orjson
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anfang.events.adapters.isapi import ADAPTER
from anfang.events.ingest import Rejected, normalise
from anfang.events.models import DeadLetter, Event
from anfang.events.services import process

from .fixtures.isapi.payloads import FIXTURES, MULTIPART_TYPE, anpr_multipart, fixture, payload

pytestmark = pytest.mark.django_db

NAMES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".xml", ".json"))
TYPES = [
    "application/xml",
    "text/xml; charset=UTF-8",
    "application/json",
    MULTIPART_TYPE,
    "multipart/form-data",
    "text/plain",
    "",
    "multipart/form-data; boundary=",
]
CODECS = ["utf-16", "utf-16-le", "utf-32", "latin-1", "gb18030", "cp1252", "big5", "shift_jis", "utf-8-sig"]
CODES = ["VMD", "IO", "ANPR", "videoloss", "heartBeat", "linedetection", "AccessControllerEvent", "weird", ""]


def content_type_for(name: str) -> str:
    return "application/json" if name.endswith(".json") else "application/xml"


random_bytes = st.tuples(st.binary(max_size=1500), st.sampled_from(TYPES))

truncated = st.builds(
    lambda name, cut: (fixture(name)[:cut], content_type_for(name)),
    st.sampled_from(NAMES),
    st.integers(min_value=0, max_value=3000),
)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(NAMES))
    data = bytearray(fixture(name))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=8))
        if draw(st.booleans()) and data:
            del data[draw(st.integers(0, len(data) - 1))]
    return bytes(data), content_type_for(name)


@st.composite
def wrongly_encoded(draw):
    name = draw(st.sampled_from([n for n in NAMES if n.endswith(".xml")]))
    text = fixture(name).decode()
    if draw(st.booleans()):
        text = text.replace('encoding="UTF-8"', f'encoding="{draw(st.sampled_from([*CODECS, "UTF-8"]))}"')
    codec = draw(st.sampled_from(CODECS))
    return text.encode(codec, errors="replace"), "application/xml"


@st.composite
def odd_values(draw):
    """Well-formed alerts whose values are arbitrary text (exercises every validation path)."""
    value = st.text(max_size=40)
    fields = {
        "eventType": draw(st.one_of(st.sampled_from(CODES), value)),
        "dateTime": draw(st.one_of(st.just("2026-03-02T10:06:41+08:00"), st.just("2026-03-02T10:06:41"), value)),
        "eventState": draw(st.one_of(st.sampled_from(["active", "inactive"]), value)),
        "channelID": draw(st.one_of(st.integers(-5, 70000).map(str), value)),
        "activePostCount": draw(st.one_of(st.integers(-1, 10**20).map(str), value)),
        "inputIOPortID": draw(value),
        "UUID": draw(st.text(max_size=200)),
    }
    if draw(st.booleans()):
        body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
        body += f"<ANPR><licensePlate>{escape(draw(value))}</licensePlate></ANPR>"
        xml = f'<EventNotificationAlert xmlns="http://www.isapi.org/ver20/XMLSchema">{body}</EventNotificationAlert>'
        return xml.encode("utf-8", errors="surrogatepass"), "application/xml"
    json_value = st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**64 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=10,
    )
    alert: dict = {k: draw(st.one_of(st.just(v), json_value)) for k, v in fields.items()}
    alert["AccessControllerEvent"] = draw(
        st.one_of(
            json_value,
            st.fixed_dictionaries(
                {"majorEventType": st.integers(-2, 2**40), "subEventType": st.integers(-2, 2**40)},
                optional={"serialNo": json_value, "doorNo": json_value, "cardNo": json_value},
            ),
        )
    )
    return orjson.dumps(alert), "application/json"


@st.composite
def broken_multipart(draw):
    data = bytearray(anpr_multipart())
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    else:
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=40))
    return bytes(data), MULTIPART_TYPE


pushes = st.one_of(random_bytes, truncated, mutated(), wrongly_encoded(), odd_values(), broken_multipart())
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(push=pushes)
def test_adapter_raises_only_rejected_and_makes_valid_events(camera, push):
    body, content_type = push
    try:
        parsed = ADAPTER.parse(payload(body, content_type), camera)
    except Rejected as rejected:
        assert rejected.reason and rejected.detail
        assert "parser error" not in rejected.detail, rejected.detail  # no internal failure behind it
        return
    assert parsed.events
    for event in parsed.events:
        normalise(event, timezone.now())  # raises Rejected if the adapter broke an invariant
        orjson.dumps(event.payload)
    for rejected, fragment in parsed.rejects:
        assert rejected.reason and isinstance(fragment, bytes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(push=pushes)
def test_every_push_ends_as_events_or_dead_letters(camera, push):
    body, content_type = push
    events_before, letters_before = Event.objects.count(), DeadLetter.objects.count()
    report = process(payload(body, content_type), camera, adapter=ADAPTER)
    statuses = [o.status for o in report.outcomes]
    assert statuses or report.rejects
    assert set(statuses) <= {"stored", "duplicate"}
    assert Event.objects.count() - events_before == statuses.count("stored")
    assert DeadLetter.objects.count() - letters_before == len(report.rejects)
    assert all(letter_id is not None for _, letter_id in report.rejects)
