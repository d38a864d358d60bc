"""The compound report as a PDF download; same scope and same assessment as the HTML page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from . import pdf, services
from .views import visible_compound


@login_required
def compound_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    compound = visible_compound(request, pk)
    result = services.latest(compound)
    if result is None:
        # A GET does not write: assessing is the report page's POST button.
        messages.info(request, _("该小区尚未进行合规评估，请先评估再下载 PDF。"))
        return redirect("compliance:compound_report", pk=compound.pk)
    response = HttpResponse(pdf.render_pdf(compound, result), content_type="application/pdf")
    response["Content-Disposition"] = pdf.content_disposition(compound, result.assessed_at)
    return response
