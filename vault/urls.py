from django.urls import path

from vault import views

app_name = "vault"

urlpatterns = [
    path("", views.credential_list, name="list"),
    path("link/", views.credential_link_view, name="link"),
    path("link/paper/", views.credential_link_paper_view, name="link_paper"),
    path("guide/<slug:exchange>/", views.exchange_guide, name="guide"),
    path("<uuid:credential_id>/", views.credential_detail, name="detail"),
    path("<uuid:credential_id>/disable/", views.credential_disable_view, name="disable"),
    path("<uuid:credential_id>/enable/", views.credential_enable_view, name="enable"),
    path("<uuid:credential_id>/delete/", views.credential_delete_view, name="delete"),
]
