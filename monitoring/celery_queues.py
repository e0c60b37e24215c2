"""How many messages wait in each Celery queue, asked of the broker at scrape time (a passive
declare: Redis and RabbitMQ both answer it). Without a broker (tasks run in-process) there is no
queue and nothing is reported."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from celery import current_app
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def queue_names(app) -> list[str]:
    """The queues configured, and those the task routes name (created on demand)."""
    names = set(app.amqp.queues) or {app.conf.task_default_queue}
    routes = app.conf.task_routes
    if isinstance(routes, dict):
        names |= {route["queue"] for route in routes.values() if isinstance(route, dict) and "queue" in route}
    return sorted(names)


def _length(connection, queue: str) -> int:
    channel = connection.channel()
    try:
        return channel.queue_declare(queue=queue, passive=True).message_count
    except connection.channel_errors:
        return 0  # never declared, or (Redis) emptied: Redis drops an empty list's key
    finally:
        try:
            channel.close()
        except Exception:  # noqa: BLE001 a channel closed by the broker's refusal
            pass


class CeleryQueueCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return
        app = current_app
        up = GaugeMetricFamily("preflight_celery_broker_up", "1 if the broker answered this scrape, else 0.")
        lengths = GaugeMetricFamily(
            "preflight_celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        timeout = settings.READYZ_BROKER_TIMEOUT_SECONDS
        try:
            with app.connection_for_read(url=settings.CELERY_BROKER_URL, connect_timeout=timeout) as connection:
                connection.ensure_connection(max_retries=0, timeout=timeout)
                for queue in queue_names(app):
                    lengths.add_metric([queue], _length(connection, queue))
        except Exception as error:  # noqa: BLE001 a scrape reports the broker down, never fails
            logger.warning("The broker did not answer the metrics scrape: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield lengths
