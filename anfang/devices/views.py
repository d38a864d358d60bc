from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Device


@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    return render(request, "devices/list.html", {"devices": Device.objects.visible_to(request.user)})


@login_required
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device.objects.visible_to(request.user), pk=pk)
    return render(request, "devices/detail.html", {"device": device})
