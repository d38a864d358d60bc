"""Plate normaliser / validator (anfang.vehicles.plates): every series generated per its format and
read back; garbage never raises; full-width, lower-case and separated variants read the same;
confusable letters folded where the standard excludes them; colour words of the vendors."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from anfang.vehicles.plates import (
    ARMED_POLICE_BRANCHES,
    LETTERS_NO_IO,
    NE_ELECTRIC,
    NE_OTHER,
    PROVINCES,
    SERIAL,
    PlateSeries,
    normalise_colour,
    read_plate,
    skeleton,
)

DIGITS = "0123456789"


def chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


province = st.sampled_from(PROVINCES)
office = st.sampled_from("ABCDEFGHJKLMNOPQRSTUVWXYZ")  # issuing-office letter: never I (O: public security)

# One strategy per series, each producing plates as GA 36-2018 (or the military rules) writes them.
SERIES_STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    PlateSeries.ORDINARY: st.tuples(province, office, chars(SERIAL, 5)).map("".join),
    PlateSeries.NEW_ENERGY: st.one_of(
        # small: energy letter first, then a letter or digit, then four digits
        st.tuples(province, office, st.sampled_from(NE_ELECTRIC + NE_OTHER), st.sampled_from(SERIAL), chars(DIGITS, 4)),
        # large: five digits, then the energy letter
        st.tuples(province, office, chars(DIGITS, 5), st.sampled_from(NE_ELECTRIC + NE_OTHER)),
    ).map("".join),
    PlateSeries.POLICE: st.tuples(province, office, chars(SERIAL, 4), st.just("警")).map("".join),
    PlateSeries.COACH: st.tuples(province, office, chars(SERIAL, 4), st.just("学")).map("".join),
    PlateSeries.TRAILER: st.tuples(province, office, chars(SERIAL, 4), st.just("挂")).map("".join),
    PlateSeries.CONSULATE: st.tuples(province, office, chars(SERIAL, 4), st.just("领")).map("".join),
    PlateSeries.HK_MACAU: st.tuples(st.just("粤Z"), chars(SERIAL, 4), st.sampled_from("港澳")).map("".join),
    PlateSeries.EMBASSY: st.one_of(
        chars(DIGITS, 6).map(lambda d: "使" + d),
        chars(DIGITS, 6).map(lambda d: d + "使"),
    ),
    PlateSeries.MILITARY: st.tuples(chars(LETTERS_NO_IO, 2), chars(DIGITS, 5))
    .filter(lambda t: t[0] != "WJ")
    .map("".join),
    PlateSeries.ARMED_POLICE: st.one_of(
        st.tuples(st.just("WJ"), province, chars(DIGITS, 4), st.sampled_from(DIGITS + ARMED_POLICE_BRANCHES)),
        st.tuples(st.just("WJ"), chars(DIGITS, 2), chars(SERIAL, 5)),
    ).map("".join),
}


def _is_new_energy_shape(plate: str) -> bool:
    """An ordinary serial can also have the new-energy shape only at 8 characters; 7 never."""
    return len(plate) == 8


@pytest.mark.parametrize("series", list(SERIES_STRATEGIES))
def test_every_series_reads_back_as_itself(series):
    @settings(max_examples=150, deadline=None)
    @given(SERIES_STRATEGIES[series])
    def check(plate):
        read = read_plate(plate)
        assert read.valid, (plate, read.problems)
        assert read.plate == plate
        assert read.series == series
        assert read.problems == []
        assert read.skeleton == skeleton(plate)
        # idempotent: reading the normalised plate gives the same plate
        assert read_plate(read.plate).plate == read.plate

    check()


def _widen(text: str) -> str:
    """ASCII → full-width forms (what some cameras and IMEs produce)."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def _decorate(text: str, draw) -> str:
    """Lower case, separators and full-width characters sprinkled in."""
    out = []
    for i, ch in enumerate(text):
        ch = draw(st.sampled_from([ch, ch.lower(), _widen(ch), _widen(ch.lower())]))
        out.append(ch)
        if i < len(text) - 1:
            out.append(draw(st.sampled_from(["", "", "", " ", "·", "-", ".", "・", "　", "•"])))
    return draw(st.sampled_from(["", " ", "　"])) + "".join(out) + draw(st.sampled_from(["", " ", "\t"]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(SERIES_STRATEGIES)).flatmap(lambda k: SERIES_STRATEGIES[k]), st.data())
def test_full_width_case_and_separators_normalise_equal(plate, data):
    variant = _decorate(plate, data.draw)
    a, b = read_plate(plate), read_plate(variant)
    assert (b.plate, b.valid, b.series, b.skeleton) == (a.plate, a.valid, a.series, a.skeleton)
    assert b.raw == variant  # kept as read


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40), st.text(max_size=20))
@example("\x00京A12345", "蓝")
@example("京A12345" * 10, "")
@example("", "")
@example("*", "")
@example("🚗京A-12345", "blue")
@example("\u200b京A12345\u200b", "")
def test_garbage_never_raises(raw, colour):
    read = read_plate(raw, colour)
    assert isinstance(read.valid, bool)
    assert len(read.plate) <= 16
    if not read.valid:
        assert read.problems, raw
        assert read.series == PlateSeries.UNKNOWN
    else:
        assert read.problems == []
    assert read.skeleton == skeleton(read.plate)


@settings(max_examples=200, deadline=None)
@given(st.tuples(province, office, chars(SERIAL, 5)).map("".join), st.data())
def test_o_and_i_in_the_serial_are_read_as_digits(plate, data):
    """The serial never uses I or O (GA 36-2018): a camera's O is a 0, its I a 1."""
    positions = [i for i, ch in enumerate(plate) if i >= 2 and ch in "01"]
    assume(positions)
    i = data.draw(st.sampled_from(positions))
    misread = plate[:i] + {"0": "O", "1": "I"}[plate[i]] + plate[i + 1 :]
    read = read_plate(misread)
    assert read.valid and read.plate == plate


@pytest.mark.parametrize(
    ("raw", "plate", "series"),
    [
        ("京A12345", "京A12345", PlateSeries.ORDINARY),
        ("苏A1P234", "苏A1P234", PlateSeries.ORDINARY),
        ("京O12345", "京O12345", PlateSeries.ORDINARY),  # office letter O stays a letter
        ("粤BD12345", "粤BD12345", PlateSeries.NEW_ENERGY),
        ("粤BFA1234", "粤BFA1234", PlateSeries.NEW_ENERGY),
        ("沪AA12345", "沪AA12345", PlateSeries.NEW_ENERGY),  # A: battery-electric, GA 36-2018 extension
        ("沪AK12345", "沪AK12345", PlateSeries.NEW_ENERGY),  # K: hybrid
        ("粤B12345D", "粤B12345D", PlateSeries.NEW_ENERGY),  # large car: letter last
        ("京A1234警", "京A1234警", PlateSeries.POLICE),
        ("辽H1234学", "辽H1234学", PlateSeries.COACH),
        ("辽H1234挂", "辽H1234挂", PlateSeries.TRAILER),
        ("沪A1234领", "沪A1234领", PlateSeries.CONSULATE),
        ("粤Z1234港", "粤Z1234港", PlateSeries.HK_MACAU),
        ("粤Z·A123澳", "粤ZA123澳", PlateSeries.HK_MACAU),
        ("使196 013", "使196013", PlateSeries.EMBASSY),
        ("196013使", "196013使", PlateSeries.EMBASSY),
        ("VA·12345", "VA12345", PlateSeries.MILITARY),
        ("KA12345", "KA12345", PlateSeries.MILITARY),
        ("WJ粤8888X", "WJ粤8888X", PlateSeries.ARMED_POLICE),
        ("WJ01-12345", "WJ0112345", PlateSeries.ARMED_POLICE),
        ("临 辽H12345", "辽H12345", PlateSeries.TEMPORARY),
        ("辽HD12345临时", "辽HD12345", PlateSeries.TEMPORARY),
        ("ｊｉｎｇ", "JING", PlateSeries.UNKNOWN),
    ],
)
def test_known_plates(raw, plate, series):
    read = read_plate(raw)
    assert (read.plate, read.series) == (plate, series)
    assert read.valid == (series != PlateSeries.UNKNOWN)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("京A1234", "长度为6位"),
        ("京A123456789", "长度为11位"),
        ("1A12345", "第1位“1”不是省份简称"),
        ("京112345", "第2位应为发牌机关代号字母"),
        ("京I12345", "第2位应为发牌机关代号字母"),
        ("京A12345$", "不允许的字符：$"),
        ("京AX12345", "新能源号牌第3位或第8位"),
        ("无车牌", "未识别到车牌"),
        ("", "未识别到车牌"),
        ("京A" + "1" * 30, "车牌过长"),
    ],
)
def test_invalid_plates_are_kept_and_explained(raw, fragment):
    read = read_plate(raw)
    assert not read.valid
    assert any(fragment in p for p in read.problems), read.problems
    assert read.raw == raw


@pytest.mark.parametrize(
    ("word", "colour"),
    [
        ("blue", "blue"),
        ("Blue", "blue"),
        ("蓝", "blue"),
        ("蓝色", "blue"),
        ("yellow", "yellow"),
        ("黄", "yellow"),
        ("white", "white"),
        ("白", "white"),
        ("black", "black"),
        ("黑色", "black"),
        ("green", "green"),
        ("渐变绿", "green"),
        ("gradientGreen", "green"),
        ("yellowGreen", "yellow_green"),
        ("yellow_green", "yellow_green"),
        ("黄绿双拼", "yellow_green"),
        ("ｂｌｕｅ", "blue"),
        ("pink", "other"),
        ("unknown", "other"),
        ("", ""),
    ],
)
def test_colour_vocabulary(word, colour):
    assert normalise_colour(word) == colour
    assert read_plate("京A12345", word).colour == colour


def test_skeleton_folds_the_confusable_classes_and_keeps_wildcards():
    assert skeleton("8B") == skeleton("B8") == "88"
    assert len({skeleton(ch) for ch in "0ODQ"}) == 1
    assert len({skeleton(ch) for ch in "1IL"}) == 1
    assert skeleton("2Z") == "22" and skeleton("5S") == "55" and skeleton("6G") == "66"
    assert skeleton("京a*8?") == "京A*8?"
    assert unicodedata.is_normalized("NFKC", skeleton("ＡＢ"))
