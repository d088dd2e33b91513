"""The price table, a job's estimate and its settled cost (core.spend)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import guild_changes as changes
from core import quota, spend
from core.guild_settings import GuildSettings
from core.spend import PriceTable, SpendAsk, parse_prices
from core.storage import records


def test_dollars_become_exact_ticks() -> None:
    assert spend.usd_to_ticks("0.02") == 200_000_000
    assert spend.usd_to_ticks(Decimal("1")) == 10_000_000_000
    assert spend.usd_to_ticks("0.00000000004") == 0
    assert spend.ticks_to_usd(200_000_000) == Decimal("0.02")
    for bad in ("-1", "abc", "nan", "inf"):
        with pytest.raises(ValueError, match="dollars"):
            spend.usd_to_ticks(bad)


def test_the_defaults_price_every_model() -> None:
    table = parse_prices("")
    assert table.per_image("grok-imagine-image", "2k") == spend.usd_to_ticks("0.02")
    assert table.per_image("grok-imagine-image-pro", None) == spend.usd_to_ticks("0.05")
    assert table.per_image("some-new-model", "1k") == spend.usd_to_ticks("0.02")


def test_the_operator_sets_prices_per_model_and_resolution() -> None:
    table = parse_prices(" grok-imagine-image=0.03, grok-imagine-image@2k=0.05 ,*@2k=0.1")
    assert table.per_image("grok-imagine-image", "1k") == spend.usd_to_ticks("0.03")
    assert table.per_image("grok-imagine-image", None) == spend.usd_to_ticks("0.03")
    assert table.per_image("grok-imagine-image", "2k") == spend.usd_to_ticks("0.05")
    assert table.per_image("other", "2k") == spend.usd_to_ticks("0.1")
    assert table.per_image("other", "1k") == spend.usd_to_ticks("0.02")
    for bad in ("grok-imagine-image", "=0.1", "x=-1"):
        with pytest.raises(ValueError, match=r"usd|dollars"):
            parse_prices(bad)


def test_an_estimate_is_the_price_times_the_images() -> None:
    table = PriceTable({"m": 5, "m@2k": 9})
    assert table.estimate("m", "1k", 4) == 20
    assert table.estimate("m", "2k", 3) == 27
    assert table.estimate("m", None, 0) == 0
    assert PriceTable().estimate("m", None, 4) == 0


def test_the_settled_cost_is_the_reported_one_else_the_estimate() -> None:
    assert spend.settled_cost(123, 500) == (123, False)
    assert spend.settled_cost(0, 500) == (0, False)
    assert spend.settled_cost(None, 500) == (500, True)


def test_spend_scopes_sit_beside_the_image_counters() -> None:
    assert spend.scopes(None) == [spend.BOT_SCOPE]
    assert spend.scopes(5) == [spend.BOT_SCOPE, "spend:guild:5"]
    assert records.spend_scopes(quota.guild_scope(5)) == spend.scopes(5)


def test_the_spend_decision_checks_the_bot_then_the_server() -> None:
    allowed = records.today(0.0, 1, 7).decide(1, [0, 0], user_limit=0, guild_limit=0)
    ask = SpendAsk(ticks=10, bot_limit=25, guild_limit=15)
    ok = records.decide_spend(allowed, ask, [15, 5])
    assert ok.allowed
    assert ok.reservation is not None
    assert ok.reservation.spend_ticks == 10
    bot = records.decide_spend(allowed, ask, [16, 0])
    assert (bot.verdict, bot.limit, bot.left) == (quota.QuotaVerdict.BOT_SPEND, 25, 9)
    guild = records.decide_spend(allowed, ask, [0, 6])
    assert (guild.verdict, guild.left) == (quota.QuotaVerdict.GUILD_SPEND, 9)
    assert records.decide_spend(allowed, None, [99, 99]) is allowed
    # A direct message has no server's ceiling.
    dm = records.today(0.0, None, 7).decide(1, [0], user_limit=0, guild_limit=0)
    assert records.decide_spend(dm, ask, [0, 99]).allowed


def test_settling_adds_the_difference() -> None:
    reservation = quota.Reservation("2025-01-01", "u", "g", 1, spend_ticks=100)
    assert records.settle_delta(reservation, 40) == -60
    assert records.settle_delta(reservation, 130) == 30
    assert records.settle_delta(reservation, -5) == -100


def test_old_server_settings_load_without_a_spend_limit() -> None:
    old = '{"enabled":true,"guild_budget":40,"modlog_channel":5}'
    settings = GuildSettings.from_json(old)
    assert settings.spend_limit_ticks is None
    assert settings.guild_budget == 40
    again = GuildSettings.from_json(changes.set_spend_limit(settings, 7).to_json())
    assert again.spend_limit_ticks == 7


def test_a_servers_spend_limit_is_set_and_removed() -> None:
    settings = changes.set_spend_limit(GuildSettings(), spend.usd_to_ticks("2.5"))
    assert settings.spend_limit_ticks == 25_000_000_000
    assert changes.set_spend_limit(settings, 0).spend_limit_ticks is None
    assert changes.set_spend_limit(settings, None).spend_limit_ticks is None
    huge = changes.set_spend_limit(settings, 10**30)
    assert huge.spend_limit_ticks == changes.MAX_SPEND_LIMIT_TICKS


def test_a_policy_asks_for_the_estimate_and_both_ceilings() -> None:
    policy = spend.SpendPolicy(PriceTable({"m": 5}), bot_limit=100)
    assert policy.ask("m", None, 3, None) == SpendAsk(15, 100, 0)
    assert policy.ask("m", "2k", 2, 40) == SpendAsk(10, 100, 40)


def test_a_reservation_journaled_before_spend_reads_with_none() -> None:
    old = '{"day": "2025-01-01", "user_scope": "u", "guild_scope": null, "images": 2}'
    reservation = quota.Reservation("2025-01-01", "u", None, 2)
    assert records.reservation_json(reservation) == old
    job = records.job_from_fields(
        {
            "id": "a",
            "user_id": "1",
            "prompt": "p",
            "params": "{}",
            "state": "accepted",
            "created_at": "1.0",
            "reservation": old,
        }
    )
    assert job.reservation == reservation
    assert job.reservation.spend_ticks == 0


def test_an_edit_is_billed_for_its_inputs_as_well_as_its_outputs() -> None:
    from core.models import EditRequest, GenerationRequest, InputSource

    sources = tuple(InputSource(f"https://cdn.example/{i}.png") for i in range(3))
    assert GenerationRequest(prompt="p", model="m", n=2).billed_images == 2
    assert EditRequest(prompt="p", model="m", sources=sources, n=2).billed_images == 5


def test_a_clips_reservation_keeps_its_meter_and_an_image_one_writes_none() -> None:
    clip = quota.Reservation(
        "2025-01-01", "video:user:1:7", "video:guild:1", 6, meter=quota.Meter.VIDEO_SECONDS
    )
    written = records.reservation_json(clip)
    assert written is not None
    assert '"meter": "video_seconds"' in written
    fields = {
        "id": "a",
        "user_id": "1",
        "prompt": "p",
        "params": "{}",
        "state": "accepted",
        "created_at": "1.0",
    }
    assert records.job_from_fields({**fields, "reservation": written}).reservation == clip
    old = '{"day": "2025-01-01", "user_scope": "u", "guild_scope": null, "images": 2}'
    read = records.job_from_fields({**fields, "reservation": old}).reservation
    assert read is not None
    assert read.meter is quota.Meter.IMAGES


def test_a_clip_spends_against_the_servers_one_spend_counter() -> None:
    video_guild = quota.metered(quota.guild_scope(5), quota.Meter.VIDEO_SECONDS)
    assert records.spend_scopes(video_guild) == spend.scopes(5)
