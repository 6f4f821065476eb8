"""The read-only admins, written once in oneclick.admin_site and used by every app."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import RequestFactory

from accounts.models import SecurityEvent, TOTPDevice
from accounts.tests.factories import UserFactory
from oneclick.admin_site import ReadOnlyAdmin, UndeletableAdmin
from strategies.models import Backtest, Candle, ModelState, Signal, SignalOutcome, StrategyRun
from trading.models import ActivityIncident, Bot, Decision, Fill, Order
from vault.models import CredentialUse, ExchangeCredential

READ_ONLY: list[type[Model]] = [
    TOTPDevice,
    CredentialUse,
    StrategyRun,
    Signal,
    SignalOutcome,
    ModelState,
    Backtest,
]
READ_ONLY += [Candle]
UNDELETABLE: list[type[Model]] = [
    SecurityEvent,
    ExchangeCredential,
    Bot,
    Decision,
    Order,
    Fill,
    ActivityIncident,
]


@pytest.fixture
def staff_request(db):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    return request


@pytest.mark.parametrize("model", READ_ONLY + UNDELETABLE, ids=lambda m: m.__name__)
def test_a_superuser_can_neither_add_nor_change_what_the_system_writes(model, staff_request):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, ReadOnlyAdmin)
    assert not model_admin.has_add_permission(staff_request)
    assert not model_admin.has_change_permission(staff_request)


@pytest.mark.parametrize("model", UNDELETABLE, ids=lambda m: m.__name__)
def test_a_superuser_cannot_delete_evidence_or_a_credential(model, staff_request):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, UndeletableAdmin)
    assert not model_admin.has_delete_permission(staff_request)


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_system_records_that_are_not_evidence_may_be_deleted(model, staff_request):
    assert admin.site._registry[model].has_delete_permission(staff_request)
