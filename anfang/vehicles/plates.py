"""Chinese plate numbers: normalise, validate, classify and key for fuzzy search (issue 8, Art 9).

`read_plate(raw, colour)` never raises: a plate that does not fit any series is returned as read
(normalised) with `valid=False` and zh problem messages, so that an ANPR passage is kept and
flagged, never dropped.

Formats follow GA 36-2018 (机动车号牌) for the civil series:
- ordinary: province abbreviation + issuing-office letter + 5 serial characters (digits and
  letters except I and O), e.g. 京A12345, 苏A1P234;
- new energy (8 characters): small cars 省 + letter + [DABCE|FGHJK] + letter-or-digit + 4 digits
  (D/A/B/C/E battery-electric, F/G/H/J/K other), large cars 省 + letter + 5 digits + [DABCE|FGHJK];
- police 警, coach 学, trailer 挂, consulate 领: 省 + letter + 4 serial characters + the marker;
- Hong Kong / Macau cars entering via Guangdong: 粤Z + 4 serial characters + 港 / 澳;
- embassy: 使 + 6 digits (3-digit mission code + 3-digit serial), older plates with 使 trailing;
- temporary (临时行驶车号牌, paper): the camera reports the ordinary or new-energy number with a
  临 / 临时 marker before or after it.
Military plates are not in GA 36 (they follow the armed forces' own rules): PLA plates are two
letters + 5 digits (e.g. VA12345, KA12345); armed police since 2019 use the same shape as the PLA,
earlier WJ plates were WJ + province + 4 digits + a branch letter or digit (WJ粤8888X) or WJ +
2-digit region + 5 characters (WJ0112345).

Confusable letters: the serial never uses I or O, so in the serial O is read as 0 and I as 1.
`skeleton()` folds characters that ANPR engines misread for each other (0/O/D/Q, 8/B, 1/I/L, 2/Z,
5/S, 6/G) into one key; two plates with the same skeleton may be the same vehicle."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from .choices import PlateColour

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Serial characters: digits and letters except I and O (GA 36-2018).
SERIAL = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LETTERS_NO_IO = "ABCDEFGHJKLMNPQRSTUVWXYZ"
NE_ELECTRIC = "DABCE"  # battery-electric (纯电动)
NE_OTHER = "FGHJK"  # plug-in hybrid / other (非纯电动)
ARMED_POLICE_BRANCHES = "XBTSHJD"  # 消防 边防 交通 森林 黄金 警卫 水电 (2012-style WJ plates)
MAX_PLATE_LENGTH = 16
UNREADABLE_WORDS = frozenset(
    {"", "无车牌", "无牌", "无牌车", "车牌", "未识别", "未知", "UNKNOWN", "NONE", "NULL", "NA"}
)

# Separators cameras and people put inside plates: spaces, dots, middle dots, dashes.
_SEPARATORS = re.compile(r"[\s.·•∙・‧\-‐‑‒–—―_/\\]+")


class PlateSeries(models.TextChoices):
    ORDINARY = "ordinary", _("普通号牌")
    NEW_ENERGY = "new_energy", _("新能源号牌")
    POLICE = "police", _("警用号牌")
    COACH = "coach", _("教练号牌")
    TRAILER = "trailer", _("挂车号牌")
    HK_MACAU = "hk_macau", _("港澳入出境号牌")
    EMBASSY = "embassy", _("使馆号牌")
    CONSULATE = "consulate", _("领馆号牌")
    MILITARY = "military", _("军队号牌")
    ARMED_POLICE = "armed_police", _("武警号牌")
    TEMPORARY = "temporary", _("临时号牌")
    UNKNOWN = "unknown", _("无法识别")


_UNKNOWN = str(PlateSeries.UNKNOWN)
_P = f"[{PROVINCES}]"
_S = f"[{SERIAL}]"
_L = f"[{LETTERS_NO_IO}]"
_NE = f"[{NE_ELECTRIC}{NE_OTHER}]"
# The issuing-office letter may be O (some provinces issue 省O to public security); I never.
_OFFICE = "[A-HJ-Z]"

_BODY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (PlateSeries.ORDINARY, re.compile(f"{_P}{_OFFICE}{_S}{{5}}")),
    (PlateSeries.NEW_ENERGY, re.compile(f"{_P}{_OFFICE}(?:{_NE}{_S}[0-9]{{4}}|[0-9]{{5}}{_NE})")),
    (PlateSeries.POLICE, re.compile(f"{_P}{_OFFICE}{_S}{{4}}警")),
    (PlateSeries.COACH, re.compile(f"{_P}{_OFFICE}{_S}{{4}}学")),
    (PlateSeries.TRAILER, re.compile(f"{_P}{_OFFICE}{_S}{{4}}挂")),
    (PlateSeries.CONSULATE, re.compile(f"{_P}{_OFFICE}{_S}{{4}}领")),
    (PlateSeries.HK_MACAU, re.compile(f"粤Z{_S}{{4}}[港澳]")),
    (PlateSeries.EMBASSY, re.compile("使[0-9]{6}|[0-9]{6}使")),
    (PlateSeries.ARMED_POLICE, re.compile(f"WJ(?:{_P}[0-9]{{4}}[0-9{ARMED_POLICE_BRANCHES}]|[0-9]{{2}}{_S}{{5}})")),
    (PlateSeries.MILITARY, re.compile(f"{_L}{{2}}[0-9]{{5}}")),
]
_TEMPORARY = re.compile("^(?:临时?)(?P<a>.+)$|^(?P<b>.+?)(?:临时?)$")

# Expected colours, for the guard's eye only (a camera's colour is often wrong; never invalidates).
SERIES_COLOURS: dict[str, tuple[str, ...]] = {
    PlateSeries.ORDINARY: (PlateColour.BLUE, PlateColour.YELLOW),
    PlateSeries.NEW_ENERGY: (PlateColour.GREEN, PlateColour.YELLOW_GREEN),
    PlateSeries.POLICE: (PlateColour.WHITE,),
    PlateSeries.COACH: (PlateColour.YELLOW,),
    PlateSeries.TRAILER: (PlateColour.YELLOW,),
    PlateSeries.HK_MACAU: (PlateColour.BLACK,),
    PlateSeries.EMBASSY: (PlateColour.BLACK,),
    PlateSeries.CONSULATE: (PlateColour.BLACK,),
    PlateSeries.MILITARY: (PlateColour.WHITE,),
    PlateSeries.ARMED_POLICE: (PlateColour.WHITE,),
}

# Colour words from cameras (ISAPI plateColor, Dahua PlateColor, JSON vendors) and people.
_COLOUR_WORDS: dict[str, str] = {}
for _value, _words in {
    PlateColour.BLUE: ("blue", "蓝", "蓝色", "蓝牌", "蓝底白字"),
    PlateColour.YELLOW: ("yellow", "黄", "黄色", "黄牌", "黄底黑字"),
    PlateColour.WHITE: ("white", "白", "白色", "白牌", "白底黑字"),
    PlateColour.BLACK: ("black", "黑", "黑色", "黑牌", "黑底白字", "civilaviationblack"),
    PlateColour.GREEN: (
        "green",
        "绿",
        "绿色",
        "绿牌",
        "渐变绿",
        "渐变绿色",
        "gradientgreen",
        "newenergygreen",
        "civilaviationgreen",
    ),
    PlateColour.YELLOW_GREEN: ("yellowgreen", "黄绿", "黄绿色", "黄绿双拼", "黄绿双拼色", "newenergyyellowgreen"),
    PlateColour.OTHER: ("other", "其他", "unknown", "未知"),
}.items():
    for _word in _words:
        _COLOUR_WORDS[_word] = _value

# Characters ANPR engines confuse, folded onto one representative (the digit).
_SKELETON = str.maketrans({"O": "0", "D": "0", "Q": "0", "B": "8", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6"})
_SERIAL_FOLD = str.maketrans({"O": "0", "I": "1"})


@dataclass(frozen=True)
class PlateRead:
    raw: str
    plate: str
    valid: bool
    series: str
    colour: str
    problems: list[str] = field(default_factory=list)
    skeleton: str = ""


def normalise_text(text: str) -> str:
    """Full-width → half-width (NFKC), upper case, separators removed. Wildcards are kept."""
    text = unicodedata.normalize("NFKC", str(text or ""))
    # Control and format characters (NUL, zero-width spaces) are noise, and PostgreSQL refuses NUL.
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return _SEPARATORS.sub("", text).upper()


def skeleton(text: str) -> str:
    """The fuzzy key of a plate or of a search term: normalised, confusable characters folded."""
    return normalise_text(text).translate(_SKELETON)


def normalise_colour(colour: str) -> str:
    """A PlateColour value for a vendor's colour word; "" when none was given, "other" when unknown."""
    key = re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", str(colour or ""))).lower()
    if not key:
        return ""
    return str(_COLOUR_WORDS.get(key, PlateColour.OTHER))


def fold_serial(text: str) -> str:
    """O → 0 and I → 1 where the standard never uses the letter: after the province and office
    letter (province plates), after 使, after WJ, and after a military plate's two letters."""
    if not text:
        return text
    if text[0] in PROVINCES or text.startswith("WJ"):
        head = 3 if text.startswith("WJ") and len(text) > 2 and text[2] in PROVINCES else 2
    elif text[0] == "使":
        head = 1
    elif text[:2].isalpha() and text[:2].isascii():
        head = 2
    else:
        head = 0
    return text[:head] + text[head:].translate(_SERIAL_FOLD)


def _classify(body: str) -> str | None:
    for series, pattern in _BODY_PATTERNS:
        if pattern.fullmatch(body):
            return series
    return None


def _split_temporary(text: str) -> str | None:
    """The number of a temporary plate (临 / 临时 before or after it), or None."""
    m = _TEMPORARY.match(text)
    if not m:
        return None
    return m.group("a") or m.group("b")


def _diagnose(text: str) -> list[str]:
    """zh messages saying why `text` fits no series, naming the position where that helps."""
    allowed = set(SERIAL) | set(PROVINCES) | set("IO警学挂领港澳使临时")
    bad = sorted({ch for ch in text if ch not in allowed})
    if bad:
        return [_g("车牌含有不允许的字符：%(chars)s") % {"chars": " ".join(bad)}]
    problems: list[str] = []
    if text[0] not in PROVINCES and text[0] != "使" and not text[:2].isalpha():
        problems.append(_g("第1位“%(ch)s”不是省份简称") % {"ch": text[0]})
    if len(text) not in (7, 8):
        problems.append(_g("车牌长度为%(n)s位，应为7位（普通号牌）或8位（新能源号牌）") % {"n": len(text)})
        return problems
    if text[0] in PROVINCES:
        if not ("A" <= text[1] <= "Z") or text[1] == "I":
            problems.append(_g("第2位应为发牌机关代号字母，而不是“%(ch)s”") % {"ch": text[1]})
        if len(text) == 8 and not problems:
            problems.append(_g("新能源号牌第3位或第8位应为字母 D/A/B/C/E 或 F/G/H/J/K，其余为数字"))
    if not problems:
        problems.append(_g("车牌“%(plate)s”不符合任何号牌种类的格式") % {"plate": text})
    return problems


def read_plate(raw: str, colour: str = "") -> PlateRead:
    """Normalise, validate and classify one plate as read by a camera or typed by a person."""
    raw = "" if raw is None else str(raw)
    colour_value = normalise_colour(colour)
    try:
        text = normalise_text(raw)
    except Exception:  # defensive: nothing a camera sends may stop a passage from being stored
        text = ""
    if text in UNREADABLE_WORDS or text.strip("*?#") == "":
        return PlateRead(raw, "", False, _UNKNOWN, colour_value, [_g("未识别到车牌")], "")
    if len(text) > MAX_PLATE_LENGTH:
        text = text[:MAX_PLATE_LENGTH]
        problems = [_g("车牌过长（超过%(n)s位），已截断") % {"n": MAX_PLATE_LENGTH}]
        return PlateRead(raw, text, False, _UNKNOWN, colour_value, problems, skeleton(text))

    plate = fold_serial(text)
    series = _classify(plate)
    if series is None:
        inner = _split_temporary(text)
        if inner:
            inner = fold_serial(inner)
            if _classify(inner) in (PlateSeries.ORDINARY, PlateSeries.NEW_ENERGY):
                # Stored without the marker: the number is what identifies the vehicle.
                return PlateRead(raw, inner, True, str(PlateSeries.TEMPORARY), colour_value, [], skeleton(inner))
        # Kept as read; folded only when it starts like a province plate (a misread civil plate).
        kept = plate if text[0] in PROVINCES else text
        return PlateRead(raw, kept, False, _UNKNOWN, colour_value, _diagnose(text), skeleton(kept))
    return PlateRead(raw, plate, True, str(series), colour_value, [], skeleton(plate))


def expected_colours(series: str) -> tuple[str, ...]:
    return SERIES_COLOURS.get(series, ())
