"""Excel import/export routes (included by compounds/urls.py)."""

urlpatterns: list = []
