from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Compound


@login_required
def compound_list(request: HttpRequest) -> HttpResponse:
    return render(request, "compounds/list.html", {"compounds": Compound.objects.visible_to(request.user)})


@login_required
def compound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    compound = get_object_or_404(Compound.objects.visible_to(request.user), pk=pk)
    return render(request, "compounds/detail.html", {"compound": compound})
