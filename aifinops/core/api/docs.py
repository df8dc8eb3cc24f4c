from drf_spectacular.views import SpectacularSwaggerView


class ApiDocsView(SpectacularSwaggerView):
    """Interactive API docs (Swagger UI served from the sidecar package, so it works offline).

    A page for people: an anonymous visitor is sent to the login page.
    """

    browser_page = True
