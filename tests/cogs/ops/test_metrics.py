"""The bot's metrics: names, labels and what each observation adds."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from cogs.ops.metrics import BotMetrics
from core.queue import JobQueue


def samples(metrics: BotMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_delivered_job_is_counted_and_timed() -> None:
    metrics = BotMetrics()
    metrics.job_ended(
        kind="generation", outcome="delivered", images=3, api_seconds=4.0, total_seconds=4.5
    )
    found = samples(metrics)
    labels = (("kind", "generation"),)
    assert found[("imagine_jobs_total", (*labels, ("outcome", "delivered")))] == 1
    assert found[("imagine_images_delivered_total", labels)] == 3
    assert found[("imagine_api_latency_seconds_count", labels)] == 1
    assert found[("imagine_api_latency_seconds_sum", labels)] == 4.0
    assert found[("imagine_bot_overhead_seconds_sum", labels)] == 0.5


def test_a_refusal_is_counted_but_not_timed() -> None:
    metrics = BotMetrics()
    metrics.job_ended(
        kind="generation", outcome="on_cooldown", images=0, api_seconds=0.0, total_seconds=0.01
    )
    found = samples(metrics)
    assert found[("imagine_jobs_total", (("kind", "generation"), ("outcome", "on_cooldown")))] == 1
    assert ("imagine_api_latency_seconds_count", (("kind", "generation"),)) not in found


def test_retries_replans_and_gauges() -> None:
    metrics = BotMetrics()
    metrics.api_retry("rate_limited")
    metrics.api_retry("rate_limited")
    metrics.upload_replanned()
    queue = JobQueue(max_running=1, max_waiting=5)
    queue.enter("a", 1)
    queue.enter("b", 2)
    metrics.watch_queue(queue)
    latency = [math.inf]
    metrics.watch_gateway(lambda: latency[0])
    found = samples(metrics)
    assert found[("imagine_api_retries_total", (("reason", "rate_limited"),))] == 2
    assert found[("imagine_upload_replans_total", ())] == 1
    assert found[("imagine_jobs_running", ())] == 1
    assert found[("imagine_jobs_waiting", ())] == 1
    assert math.isnan(found[("imagine_gateway_latency_seconds", ())])
    latency[0] = 0.042
    assert samples(metrics)[("imagine_gateway_latency_seconds", ())] == 0.042


def test_each_bot_has_a_registry_of_its_own() -> None:
    first, second = BotMetrics(), BotMetrics()
    first.upload_replanned()
    assert samples(second)[("imagine_upload_replans_total", ())] == 0
