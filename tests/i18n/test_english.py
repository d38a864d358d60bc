"""The English UI: pages, API messages and choice labels follow Accept-Language or the language
cookie; without either the zh-Hans default stays. Text the user typed (names, addresses) stays as
typed, so the "no Chinese left" checks remove the world's own data first."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from anfang.compounds.choices import ManagementMode
from anfang.compounds.models import PART_MODELS
from anfang.core.choices import Role
from anfang.core.models import ApiToken, Organisation
from anfang.devices.models import Device
from tests import factories as f

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u303f]")
# Each language's own name is shown in that language by the switch, on purpose.
NATIVE_LANGUAGE_NAMES = ("简体中文",)
# Decoration hidden from screen readers (the brand glyph 安) is not text.
HIDDEN = re.compile(r'(<[^>]*aria-hidden="true"[^>]*>)[^<]*')


@pytest.fixture(autouse=True)
def _restore_language():
    # LocaleMiddleware leaves the request language active in this thread; don't leak "en".
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def manager_x(world):
    return f.user_with(Role.PROPERTY_MANAGER, organisation=world["company_x"], username="mgr-x")


@pytest.fixture
def filled(world):
    """Compound X with one of each common part and a device, so every section has rows."""
    cx = world["cx"]
    building = f.BuildingFactory(compound=cx, name="1号楼")
    f.UnitFactory(compound=cx, building=building, name="2单元")
    f.EntranceFactory(compound=cx, name="南门")
    f.PerimeterSegmentFactory(compound=cx, name="南墙")
    f.DutyRoomFactory(compound=cx, name="值班室甲")
    f.SecurityTeamFactory(compound=cx, name="保安队甲", provider=world["company_x"])
    f.DeviceFactory(compound=cx, name="南门摄像机")
    return cx


def english_client(user=None, how: str = "header") -> Client:
    if how == "header":
        client = Client(headers={"Accept-Language": "en"})
    else:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def data_strings(world) -> list[str]:
    """Everything in the world that a user typed (or a factory invented), longest first."""
    values = [str(o) for o in Organisation.objects.all()]
    for key in ("cx", "cy", "cu"):
        values += [world[key].name, world[key].address]
    named: tuple[type[Model], ...] = (*PART_MODELS, Device)
    for model in named:
        for obj in model._default_manager.all():
            values += [str(obj), str(getattr(obj, "name", ""))]
    return sorted({v for v in values if v}, key=len, reverse=True)


def chinese_left(html: str, world) -> list[str]:
    text = HIDDEN.sub(r"\1", re.sub(r"<script.*?</script>", "", html, flags=re.S))
    for value in (*data_strings(world), *NATIVE_LANGUAGE_NAMES):
        text = text.replace(value, "")
    return sorted({line.strip() for line in text.splitlines() if CJK.search(line)})


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize("how", ["header", "cookie"])
def test_compound_list_in_english(world, manager_x, how):
    response = english_client(manager_x, how).get(reverse("compounds:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "Compound registry" in html
    assert "Add compound" in html
    assert "Local police station" in html
    assert "1 compound" in html  # plural form, singular branch
    assert ManagementMode.MANAGED.value in html  # badge css class
    assert "Property-managed" in html  # the choice label
    assert chinese_left(html, world) == []


def test_compound_list_plural_form(world):
    html = english_client(f.admin_user()).get(reverse("compounds:list")).content.decode()
    assert "3 compounds" in html
    assert "No property management" in html  # 老街小区 has none


@pytest.mark.parametrize("tab", ["structure", "devices", "people", "history"])
def test_compound_detail_in_english(world, manager_x, filled, tab):
    response = english_client(manager_x).get(reverse("compounds:detail", args=[filled.pk]), {"tab": tab})
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Structure", "Devices", "People and teams", "Change history", "Local police station", "Archive"):
        assert text in html
    assert chinese_left(html, world) == []


def test_detail_structure_shows_translated_parts_and_choices(world, manager_x, filled):
    html = english_client(manager_x).get(reverse("compounds:detail", args=[filled.pk])).content.decode()
    assert "Add Building" in html
    assert "Electric sliding gate" in html  # entrance gate type
    assert "Main entrance" in html
    assert "Networked" in html  # unit intercom


def test_unknown_language_falls_back_to_chinese(world, manager_x):
    client = Client(headers={"Accept-Language": "fr"})
    client.force_login(manager_x)
    html = client.get(reverse("compounds:list")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "小区登记" in html


def test_default_is_chinese(world, manager_x):
    client = Client()
    client.force_login(manager_x)
    html = client.get(reverse("compounds:list")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "小区登记" in html and "新增小区" in html and "物业管理" in html
    assert "Compound registry" not in html and "Property-managed" not in html
    detail = client.get(reverse("compounds:detail", args=[world["cx"].pk])).content.decode()
    assert "小区结构" in detail and "Structure" not in detail


def test_language_cookie_outranks_accept_language(world, manager_x):
    client = english_client(manager_x, "cookie")
    html = client.get(reverse("compounds:list"), headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "Compound registry" in html


def test_login_page_in_english(world):
    html = english_client().get(reverse("login")).content.decode()
    assert "Log in" in html
    assert chinese_left(html, world) == []


# ---------------------------------------------------------------- API


def api(user, language: str | None = None) -> Client:
    _token, raw = ApiToken.issue(user, "i18n-tests")
    headers = {"Authorization": f"Bearer {raw}"}
    if language:
        headers["Accept-Language"] = language
    return Client(headers=headers)


def unmanaged_without_community(world) -> dict:
    # Art 6: a compound without a property company needs its community — a model clean() error.
    return {"name": "幸福里", "address": "营口市站前区幸福路1号", "police_station": world["station_b"].pk}


def test_api_model_validation_error_in_english(world):
    response = api(f.admin_user(), "en").post(
        "/api/compounds/", unmanaged_without_community(world), content_type="application/json"
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "community"]
    assert error["msg"] == (
        "A compound without property management is managed by its community (Art. 6); select the community."
    )


def test_api_model_validation_error_in_chinese_by_default(world):
    response = api(f.admin_user()).post(
        "/api/compounds/", unmanaged_without_community(world), content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "无物业管理的小区由社区管理（第6条），请选择所属社区。"


def test_api_unique_name_clash_in_english(world):
    body = {"name": "乐家小区", "address": "a", "police_station": world["station_b"].pk}
    body["property_company"] = world["company_y"].pk
    response = api(f.admin_user(), "en").post("/api/compounds/", body, content_type="application/json")
    assert response.status_code == 422
    assert "already exists in this police station's jurisdiction" in response.json()["detail"][0]["msg"]


def test_api_choice_labels_in_english(world):
    client = api(f.admin_user(), "en")
    managed = client.get(f"/api/compounds/{world['cx'].pk}").json()
    unmanaged = client.get(f"/api/compounds/{world['cu'].pk}").json()
    assert managed["management_mode_label"] == "Property-managed"
    assert unmanaged["management_mode_label"] == "No property management"
    zh = api(f.admin_user()).get(f"/api/compounds/{world['cx'].pk}").json()
    assert zh["management_mode_label"] == "物业管理"


def test_api_refusals_in_english(world, manager_x):
    client = api(manager_x, "en")
    assert client.get(f"/api/compounds/{world['cy'].pk}").json() == {"detail": "Record not found."}
    assert Client(headers={"Accept-Language": "en"}).get("/api/compounds/").json() == {
        "detail": "Please log in or provide a valid API token."
    }


def test_choice_labels_follow_the_active_language():
    with translation.override("en"):
        assert str(ManagementMode.MANAGED.label) == "Property-managed"
    with translation.override("zh-hans"):
        assert str(ManagementMode.MANAGED.label) == "物业管理"
