from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from rest_framework.views import APIView


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page requires login, except views marked with `login_not_required`.

    API views are left to Django REST framework, whose default permission (IsAuthenticated) also
    accepts API tokens, which this middleware cannot see; an anonymous call gets 401, not a
    redirect. API views meant for a browser (the interactive docs) set `browser_page = True` and
    send an anonymous visitor to the login page like any other page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if view_class is not None and issubclass(view_class, APIView):
            if getattr(view_class, "browser_page", False) and not request.user.is_authenticated:
                # DRF marks its views login_not_required; a page for people still wants login.
                return self.handle_no_permission(request, view_func)
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
