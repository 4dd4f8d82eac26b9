"""The API's throttles: DRF's anonymous and per-user rates, with two changes.

- The rates are read when a request is checked, not when DRF's module was imported
  (DRF binds `THROTTLE_RATES` at class definition), so a changed REST_FRAMEWORK setting
  takes effect, in tests as in a reloaded configuration.
- The client address is the project's one answer (accounts.services.client_ip), and a
  cache that cannot be reached lets the request through (logged) rather than failing
  every API request while Redis is away.
"""

import logging

from rest_framework import throttling
from rest_framework.settings import api_settings

from .services import client_ip

try:
    from redis.exceptions import RedisError

    CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
except ImportError:  # pragma: no cover - redis is installed with the project
    CACHE_ERRORS = (OSError,)

log = logging.getLogger(__name__)


class _ProjectRates:
    @property
    def THROTTLE_RATES(self):  # noqa: N802 - DRF's name
        return api_settings.DEFAULT_THROTTLE_RATES

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS:  # the cache being down must not stop the API
            log.warning("API throttle: cache unavailable, request let through", exc_info=True)
            return True


class AnonRateThrottle(_ProjectRates, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_ProjectRates, throttling.UserRateThrottle):
    pass
