from django.urls import path

from strategies import views

app_name = "strategies"

urlpatterns = [
    path("", views.strategy_list, name="list"),
    path("backtests/<uuid:backtest_id>/", views.backtest_detail, name="backtest"),
    path("<slug:slug>/", views.strategy_detail, name="detail"),
    path("<slug:slug>/backtest/", views.backtest_request_view, name="backtest_request"),
]
