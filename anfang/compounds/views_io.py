"""Excel pages: the template, export (anyone who can see the compound, police included) and
import, as a new compound or into an existing one. The work is in `importexport`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from openpyxl import Workbook

from anfang.core.grants import can_edit_registry

from .importexport import XLSX_CONTENT_TYPE, build_workbook, export_compound, import_workbook, to_bytes
from .models import Compound
from .views import editable_compound, visible_compound


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel 工作簿（.xlsx）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
        help_text=gettext_lazy("请使用下载的模板或本平台导出的文件；任何一处有误时不会导入任何内容。"),
    )


def _xlsx(wb: Workbook, filename: str) -> HttpResponse:
    response = HttpResponse(to_bytes(wb), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    return _xlsx(build_workbook(), _("小区安防登记模板.xlsx"))


@login_required
@require_GET
def export(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    return _xlsx(export_compound(request.user, compound), f"{compound.name}.xlsx")


def _import_page(request: HttpRequest, compound: Compound | None) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "compound": compound, "result": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            context["result"] = import_workbook(request.user, form.cleaned_data["file"], compound)
        except PermissionDenied as exc:  # e.g. a new compound naming another company
            form.add_error(None, str(exc) or _("您没有执行此操作的权限。"))
            status = 403
    return render(request, "compounds/import.html", context, status=status)


@login_required
def import_new(request: HttpRequest) -> HttpResponse:
    if not can_edit_registry(request.user):
        raise PermissionDenied(_("您没有登记小区的权限。"))
    return _import_page(request, None)


@login_required
def import_into(request: HttpRequest, pk: int) -> HttpResponse:
    return _import_page(request, editable_compound(request, pk))
