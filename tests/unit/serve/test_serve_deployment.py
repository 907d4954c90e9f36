"""The deployment `cephalo serve` builds carries its config's Ray Serve options (no Ray started)."""

from __future__ import annotations

from cephalo_ray.serve.app import make_deployment
from cephalo_ray.serve.config import ServeConfig, settings_of


def test_health_checks_follow_the_config_and_default_to_ray_serves() -> None:
    from ray.serve._private.constants import DEFAULT_HEALTH_CHECK_PERIOD_S, DEFAULT_HEALTH_CHECK_TIMEOUT_S

    # Ray keeps them only in the deployment's config object (no public property)
    default = make_deployment(settings_of(ServeConfig(models=["m"])))._deployment_config
    assert (default.health_check_period_s, default.health_check_timeout_s) == (
        DEFAULT_HEALTH_CHECK_PERIOD_S,
        DEFAULT_HEALTH_CHECK_TIMEOUT_S,
    )
    config = ServeConfig(models=["m"], resources={"health_check_period_s": 0.5, "health_check_timeout_s": 3})
    short = make_deployment(settings_of(config))._deployment_config
    assert (short.health_check_period_s, short.health_check_timeout_s) == (0.5, 3.0)
