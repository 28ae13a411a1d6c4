"""Fixtures of the chart tests, shared with tests/infra."""

from tests.infra.conftest import envoy_gateway_schemas

__all__ = ["envoy_gateway_schemas"]
