"""Any Result the engine can make maps, in every face, to the documented shape without raising."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import Detail, Flags, MxHost, Reason, Reply, Result, Timings
from tests.unit.service.shapes import FACES, REASON_STATE, assert_types, flatten, load, roundtrip

_SYNTAX = {Reason.AT_SIGN_NOT_FOUND, Reason.TOO_MANY_AT_SIGNS_FOUND, Reason.INVALID_SYNTAX}
_DNS_WORDS = [
    None,
    "mx",
    "implicit-mx",
    "literal",
    "nxdomain",
    "null-mx",
    "no-mail-host",
    "refused-non-public",
    "transient",
    "error",
]
_text = st.text(max_size=30)
_maybe = st.one_of(st.none(), st.text(min_size=1, max_size=20))


@st.composite
def results(draw: st.DrawFn) -> Result:
    reason = draw(st.sampled_from(list(Reason)))
    parsed = reason not in _SYNTAX and draw(
        st.booleans() if reason is Reason.UNKNOWN else st.just(True)
    )
    reply = draw(
        st.one_of(
            st.none(),
            st.builds(
                Reply, st.integers(200, 599), _text, st.sampled_from([None, "5.1.1", "4.7.1"])
            ),
        )
    )
    hosts = draw(
        st.lists(st.sampled_from(["mx1.example.com", "mx2.example.com", "[192.0.2.1]"]), max_size=2)
    )
    return Result(
        input=draw(st.text(max_size=40)),
        email="jane@example.com" if parsed else None,
        state=REASON_STATE[reason],
        reason=reason,
        user="jane" if parsed else None,
        domain="example.com" if parsed else None,
        tag=draw(_maybe) if parsed else None,
        did_you_mean=draw(st.sampled_from([None, "jane@gmail.com"])) if parsed else None,
        first_name=draw(_maybe),
        gender=draw(st.sampled_from([None, "male", "female"])),
        flags=Flags(
            disposable=draw(st.booleans()),
            role=draw(st.booleans()),
            free=draw(st.booleans()),
            no_reply=draw(st.booleans()),
            accept_all=draw(st.sampled_from([None, True, False])),
            mailbox_full=draw(st.booleans()),
        ),
        mx=tuple(MxHost(h, 10) for h in hosts),
        mx_record=hosts[0] if hosts else None,
        smtp_provider=draw(_maybe),
        score=draw(st.floats(0.0, 1.0)),
        timings=Timings(total_ms=draw(st.floats(0.0, 60_000.0))),
        detail=Detail(
            dns=draw(st.sampled_from(_DNS_WORDS)) if parsed else None,
            reply=reply if parsed else None,
            notes=tuple(draw(st.lists(_text, max_size=2))),
        ),
    )


@settings(max_examples=300, deadline=None)
@given(results())
def test_every_face_answers_its_documented_shape_for_any_result(result: Result) -> None:
    for vendor, face in FACES.items():
        shape = load(vendor)
        body = roundtrip(face(result))
        assert set(body) == set(shape["example"]), vendor
        assert_types(body, shape["types"])
        flat = flatten(body)
        for path, allowed in shape["enums"].items():
            if path in flat:
                assert flat[path] in allowed, (vendor, path, flat[path])
