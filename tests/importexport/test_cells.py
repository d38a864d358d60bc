"""Cell parsers never crash: any input gives a value of the right type or a Chinese message."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anfang.compounds.choices import EntranceRole
from anfang.compounds.importexport import cells
from anfang.compounds.importexport.layout import sheet_of
from anfang.compounds.models import Unit

CJK = re.compile(r"[\u4e00-\u9fff]")

cell_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet="0123456789.,-+eE 是否有无年月日/", max_size=20),
    st.datetimes(),
    st.dates(),
    st.decimals(allow_nan=True, allow_infinity=True),
)


def parse_or_message(parse, raw):
    try:
        return parse(raw), None
    except cells.CellError as exc:
        assert CJK.search(str(exc)), str(exc)
        return None, str(exc)


@given(cell_values)
def test_bool_parser(raw):
    value, message = parse_or_message(cells.parse_bool, raw)
    assert message or isinstance(value, bool)


@given(cell_values)
def test_int_parser(raw):
    value, message = parse_or_message(cells.parse_int, raw)
    assert message or (isinstance(value, int) and not isinstance(value, bool))


@given(cell_values, st.sampled_from([None, 0, 1, 2, 6]))
def test_decimal_parser(raw, places):
    value, message = parse_or_message(lambda r: cells.parse_decimal(r, places), raw)
    assert message or (isinstance(value, Decimal) and value.is_finite())


@given(cell_values)
def test_date_parser(raw):
    value, message = parse_or_message(cells.parse_date, raw)
    assert message or (isinstance(value, dt.date) and not isinstance(value, dt.datetime))


@given(st.one_of(cell_values, st.sampled_from([*EntranceRole.values, *map(str, EntranceRole.labels)])))
def test_choice_parser(raw):
    value, message = parse_or_message(lambda r: cells.parse_choice(r, EntranceRole.choices), raw)
    assert message or value in EntranceRole.values


@given(cell_values)
def test_column_parse_of_every_unit_column(raw):
    for column in sheet_of(Unit).columns:
        parse_or_message(column.parse, raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("是", True), ("否", False), (" Y ", True), ("FALSE", False), (1, True), (0.0, False), ("√", True)],
)
def test_bool_words(raw, expected):
    assert cells.parse_bool(raw) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(6, 6), (6.0, 6), ("18", 18), (" 1,200 ", 1200), ("３", 3), ("-2", -2)],
)
def test_int_values(raw, expected):
    assert cells.parse_int(raw) == expected


def test_decimal_keeps_stored_precision():
    assert str(cells.parse_decimal(12.5, 2)) == "12.50"
    assert str(cells.parse_decimal("0.123", 2)) == "0.123"  # left for the model to refuse


@pytest.mark.parametrize("raw", ["2024-03-01", "2024/3/1", "2024年3月1日", "20240301", dt.datetime(2024, 3, 1)])
def test_date_formats(raw):
    assert cells.parse_date(raw) == dt.date(2024, 3, 1)


def test_choice_label_or_code():
    assert cells.parse_choice("主出入口", EntranceRole.choices) == "main"
    assert cells.parse_choice("MAIN", EntranceRole.choices) == "main"
    with pytest.raises(cells.CellError, match="主出入口、次出入口"):
        cells.parse_choice("侧门", EntranceRole.choices)


def test_blank_cells():
    unit = sheet_of(Unit)
    assert unit.by_key["entrance_door_standard"].parse("  ") is None  # not surveyed
    assert unit.by_key["intercom"].parse(None) == ""
    with pytest.raises(cells.CellError, match="必填"):
        unit.by_key["name"].parse(None)
