from django.shortcuts import render

from aifinops.core.views import section_required

from . import selectors


@section_required("council")
def index(request):
    return render(request, "council/index.html", {"councils": selectors.council_list()})
