"""The API's throttles: DRF's anonymous and per-user rates, with three changes.

- The rates are read when a request is checked, not when DRF's module was imported
  (DRF binds `THROTTLE_RATES` at class definition), so a changed REST_FRAMEWORK setting
  takes effect, in tests as in a reloaded configuration.
- Requests are counted atomically in fixed windows (numbered from the epoch, one per
  rate period) with the cache's increment, not in DRF's list of timestamps, which each
  request reads and writes back whole: requests that arrive together each wrote back the
  same list plus one, so a burst of parallel requests was counted as a few (300 tokens'
  requests, 6 at a time, went through a 240/min rate untouched). A fixed window lets
  up to twice the rate through across a window's edge; never more.
- The client address is the project's one answer (accounts.services.client_ip), and a
  cache that cannot be reached lets the request through (logged) rather than failing
  every API request while Redis is away.
"""

import logging
import math

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
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        number = int(self.now // self.duration)
        self.window_ends = (number + 1) * self.duration
        key = f"{self.key}:{number}"
        try:
            self.cache.add(key, 0, self.duration + 1)
            try:
                count = self.cache.incr(key)
            except ValueError:  # expired between add and incr: this is the first
                self.cache.set(key, 1, self.duration + 1)
                count = 1
        except CACHE_ERRORS:  # the cache being down must not stop the API
            log.warning("API throttle: cache unavailable, request let through", exc_info=True)
            return True
        return count <= self.num_requests

    def wait(self):
        """Seconds until this window ends (DRF sends it as Retry-After)."""
        return max(1, math.ceil(self.window_ends - self.now))


class AnonRateThrottle(_ProjectRates, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_ProjectRates, throttling.UserRateThrottle):
    pass
