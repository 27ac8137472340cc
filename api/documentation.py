"""``/docs``: the interactive OpenAPI page, on our vendored Swagger UI (no CDN at run time).

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script; here
the files come from ``/static`` and the inline script carries the page's CSP nonce.
"""

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from maps.folium_maps import VENDOR_URL, with_nonce

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — documentation de l'API",
        swagger_js_url=f"{VENDOR_URL}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR_URL}/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/static/vendor/dsfr/favicon/favicon.ico",
    )
    return HTMLResponse(with_nonce(page.body.decode(), request.state.csp_nonce))
