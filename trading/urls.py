from django.urls import path

from trading import views

app_name = "trading"

urlpatterns = [
    path("", views.bot_list, name="list"),
    path("new/", views.bot_create_view, name="create"),
    path("history/", views.history, name="history"),
    path("history/fills.csv", views.history_export, name="history_export"),
    path("<uuid:bot_id>/", views.bot_detail, name="detail"),
    path("<uuid:bot_id>/pause/", views.bot_pause_view, name="pause"),
    path("<uuid:bot_id>/resume/", views.bot_resume_view, name="resume"),
    path("<uuid:bot_id>/allocation/", views.bot_allocation_view, name="allocation"),
    path("<uuid:bot_id>/stop/", views.bot_stop_view, name="stop"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("decisions/<int:decision_id>/", views.decision_detail, name="decision"),
]
