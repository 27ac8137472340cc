"""Maps and pages: folium rendering, Jinja templates and vendored static assets."""
