"""Discord's command permissions as a pure decision: levels, targets, defaults, admins."""

from __future__ import annotations

import pytest

from core.command_permissions import (
    ADMINISTRATOR,
    Access,
    Asker,
    Overwrite,
    TargetType,
    all_channels_id,
    decide,
    decide_any,
)

GUILD = 1_000_000
APP = 77
COMMAND = 88
OTHER_COMMAND = 99
CHANNEL = 500
OTHER_CHANNEL = 501
THREAD = 600
USER = 42
ROLE_A = 10
ROLE_B = 11
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11

ROLE, USER_T, CHAN = TargetType.ROLE, TargetType.USER, TargetType.CHANNEL


def asker(
    *,
    channel_id: int = CHANNEL,
    parent_id: int | None = None,
    roles: tuple[int, ...] = (),
    permissions: int = SEND_MESSAGES,
    user_id: int = USER,
) -> Asker:
    return Asker(
        guild_id=GUILD,
        channel_id=channel_id,
        user_id=user_id,
        role_ids=(GUILD, *roles),
        permissions=permissions,
        parent_id=parent_id,
    )


def ow(target_id: int, kind: TargetType, allow: bool) -> Overwrite:
    return Overwrite(target_id, kind, allow)


def check(
    command: list[Overwrite] | None = None,
    app: list[Overwrite] | None = None,
    who: Asker | None = None,
    defaults: int | None = None,
) -> Access:
    overwrites = {}
    if command is not None:
        overwrites[COMMAND] = command
    if app is not None:
        overwrites[APP] = app
    return decide(
        overwrites,
        who or asker(),
        application_id=APP,
        command_id=COMMAND,
        default_member_permissions=defaults,
    )


def test_a_server_that_set_nothing_allows() -> None:
    assert check() is Access.ALLOWED
    assert check([], []) is Access.ALLOWED


def test_all_channels_is_the_guild_id_minus_one() -> None:
    assert all_channels_id(GUILD) == GUILD - 1


# -- channels -------------------------------------------------------------------------


def test_a_channel_deny_applies_to_that_channel_only() -> None:
    command = [ow(CHANNEL, CHAN, False)]
    assert check(command) is Access.CHANNEL_DENIED
    assert check(command, who=asker(channel_id=OTHER_CHANNEL)) is Access.ALLOWED


def test_a_thread_follows_its_parent_channel() -> None:
    command = [ow(CHANNEL, CHAN, False)]
    assert check(command, who=asker(channel_id=THREAD, parent_id=CHANNEL)) is Access.CHANNEL_DENIED
    allowed = [ow(all_channels_id(GUILD), CHAN, False), ow(CHANNEL, CHAN, True)]
    assert check(allowed, who=asker(channel_id=THREAD, parent_id=CHANNEL)) is Access.ALLOWED


def test_the_channels_own_overwrite_beats_all_channels() -> None:
    only_here = [ow(all_channels_id(GUILD), CHAN, False), ow(CHANNEL, CHAN, True)]
    assert check(only_here) is Access.ALLOWED
    assert check(only_here, who=asker(channel_id=OTHER_CHANNEL)) is Access.CHANNEL_DENIED
    not_here = [ow(all_channels_id(GUILD), CHAN, True), ow(CHANNEL, CHAN, False)]
    assert check(not_here) is Access.CHANNEL_DENIED
    assert check(not_here, who=asker(channel_id=OTHER_CHANNEL)) is Access.ALLOWED


def test_a_command_level_channel_overwrite_beats_the_application_level() -> None:
    assert check([ow(CHANNEL, CHAN, True)], [ow(CHANNEL, CHAN, False)]) is Access.ALLOWED
    assert check([ow(CHANNEL, CHAN, False)], [ow(CHANNEL, CHAN, True)]) is Access.CHANNEL_DENIED
    # Command-level "all channels" still beats the application's word on this channel.
    everywhere_off = [ow(all_channels_id(GUILD), CHAN, False)]
    assert check(everywhere_off, [ow(CHANNEL, CHAN, True)]) is Access.CHANNEL_DENIED


def test_application_level_channels_apply_when_the_command_says_nothing() -> None:
    assert check([], [ow(CHANNEL, CHAN, False)]) is Access.CHANNEL_DENIED
    app = [ow(all_channels_id(GUILD), CHAN, False), ow(OTHER_CHANNEL, CHAN, True)]
    assert check([ow(ROLE_A, ROLE, True)], app) is Access.CHANNEL_DENIED
    assert check([], app, asker(channel_id=OTHER_CHANNEL)) is Access.ALLOWED


def test_a_channel_deny_holds_even_for_an_allowed_member() -> None:
    command = [ow(CHANNEL, CHAN, False), ow(USER, USER_T, True)]
    assert check(command) is Access.CHANNEL_DENIED


# -- members --------------------------------------------------------------------------


def test_everyone_deny_with_a_role_allow() -> None:
    command = [ow(GUILD, ROLE, False), ow(ROLE_A, ROLE, True)]
    assert check(command) is Access.MEMBER_DENIED
    assert check(command, who=asker(roles=(ROLE_A,))) is Access.ALLOWED


def test_a_role_allow_beats_a_role_deny() -> None:
    command = [ow(ROLE_A, ROLE, True), ow(ROLE_B, ROLE, False)]
    assert check(command, who=asker(roles=(ROLE_A, ROLE_B))) is Access.ALLOWED
    assert check(command, who=asker(roles=(ROLE_B,))) is Access.MEMBER_DENIED


def test_roles_beat_everyone() -> None:
    command = [ow(GUILD, ROLE, True), ow(ROLE_B, ROLE, False)]
    assert check(command, who=asker(roles=(ROLE_B,))) is Access.MEMBER_DENIED
    assert check(command) is Access.ALLOWED


def test_a_user_overwrite_beats_roles() -> None:
    denied_role = [ow(ROLE_A, ROLE, False), ow(USER, USER_T, True)]
    assert check(denied_role, who=asker(roles=(ROLE_A,))) is Access.ALLOWED
    allowed_role = [ow(ROLE_A, ROLE, True), ow(USER, USER_T, False)]
    assert check(allowed_role, who=asker(roles=(ROLE_A,))) is Access.MEMBER_DENIED
    assert check(allowed_role, who=asker(roles=(ROLE_A,), user_id=USER + 1)) is Access.ALLOWED


def test_overwrites_of_roles_the_member_lacks_say_nothing() -> None:
    assert check([ow(ROLE_B, ROLE, False)], who=asker(roles=(ROLE_A,))) is Access.ALLOWED


def test_command_level_member_overwrites_beat_the_application_level() -> None:
    assert check([ow(USER, USER_T, True)], [ow(GUILD, ROLE, False)]) is Access.ALLOWED
    # Even a command-level role allow beats an application-level user deny.
    command = [ow(ROLE_A, ROLE, True)]
    app = [ow(USER, USER_T, False)]
    assert check(command, app, asker(roles=(ROLE_A,))) is Access.ALLOWED
    assert check(command, app) is Access.MEMBER_DENIED


def test_an_application_level_deny_applies_to_every_command() -> None:
    assert check(None, [ow(GUILD, ROLE, False)]) is Access.MEMBER_DENIED
    assert check(None, [ow(ROLE_A, ROLE, False)], asker(roles=(ROLE_A,))) is Access.MEMBER_DENIED
    # Another command's overwrites say nothing of this one.
    overwrites = {OTHER_COMMAND: [ow(GUILD, ROLE, False)]}
    assert decide(overwrites, asker(), application_id=APP, command_id=COMMAND) is Access.ALLOWED


# -- default_member_permissions and administrators ----------------------------------


def test_default_member_permissions_need_every_bit() -> None:
    assert check(defaults=MANAGE_GUILD) is Access.MISSING_PERMISSIONS
    who = asker(permissions=MANAGE_GUILD | SEND_MESSAGES)
    assert check(defaults=MANAGE_GUILD, who=who) is Access.ALLOWED
    assert check(defaults=MANAGE_GUILD | 1, who=who) is Access.MISSING_PERMISSIONS


def test_zero_defaults_allow_only_administrators_and_overwrites() -> None:
    assert check(defaults=0) is Access.MISSING_PERMISSIONS
    assert check(defaults=0, who=asker(permissions=ADMINISTRATOR)) is Access.ALLOWED
    assert check([ow(USER, USER_T, True)], defaults=0) is Access.ALLOWED


def test_an_application_level_allow_keeps_the_defaults() -> None:
    app = [ow(USER, USER_T, True)]
    assert check(None, app, defaults=MANAGE_GUILD) is Access.MISSING_PERMISSIONS
    assert check([ow(USER, USER_T, True)], defaults=MANAGE_GUILD) is Access.ALLOWED


@pytest.mark.parametrize(
    "command",
    [
        [ow(CHANNEL, CHAN, False)],
        [ow(USER, USER_T, False)],
        [ow(GUILD, ROLE, False)],
        [ow(all_channels_id(GUILD), CHAN, False)],
    ],
)
def test_administrators_may_use_every_command(command: list[Overwrite]) -> None:
    admin = asker(permissions=ADMINISTRATOR | SEND_MESSAGES)
    assert check(command, command, admin, defaults=0) is Access.ALLOWED
    assert check(command, command, asker()) is not Access.ALLOWED


# -- a command under several ids ------------------------------------------------------


def test_any_of_several_ids_allowing_is_enough() -> None:
    overwrites = {COMMAND: [ow(CHANNEL, CHAN, False)], OTHER_COMMAND: []}
    both = {COMMAND: None, OTHER_COMMAND: None}
    assert decide_any(overwrites, asker(), application_id=APP, commands=both).allowed
    only = {COMMAND: None}
    refused = decide_any(overwrites, asker(), application_id=APP, commands=only)
    assert refused is Access.CHANNEL_DENIED
    # No command id known: the application-level overwrites alone decide.
    assert decide_any(overwrites, asker(), application_id=APP, commands={}).allowed
    overwrites[APP] = [ow(GUILD, ROLE, False)]
    refused = decide_any(overwrites, asker(), application_id=APP, commands={})
    assert refused is Access.MEMBER_DENIED
