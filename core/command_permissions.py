"""Whether Discord would let a member use a command in a channel: its command permissions.

A server sets who may use an application's commands, and where, under Server Settings →
Integrations. Discord applies those settings to the commands themselves but not to the
buttons a command's result carries, so a button that starts the command's work again
(Re-roll) asks this module what Discord would have decided for the command.

Discord's rules, as it applies them since command permissions v2 (2023):

* Members with the Administrator permission (the owner among them) may use every command.
* Overwrites come at two levels: the command's own (keyed by the command's id) and the
  application's (keyed by the application's id, for every command without its own). A
  command-level overwrite beats an application-level one.
* Where: an overwrite of the channel itself beats the "all channels" one (id
  ``guild_id - 1``); a thread follows its parent channel. No channel overwrite: allowed.
* Who: the member's own (user) overwrite beats their roles'; among their roles an allow
  beats a deny; the ``@everyone`` overwrite (id ``guild_id``) comes last.
* The command's ``default_member_permissions`` still applies when no command-level
  overwrite allowed the member: the member needs every permission it names (``0``: only
  administrators). ``None`` (what ``/imagine`` has) asks for nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

#: Discord's Administrator permission bit: such members may use every command.
ADMINISTRATOR = 1 << 3


class TargetType(enum.IntEnum):
    """What an overwrite is about (Discord's application command permission type)."""

    ROLE = 1
    USER = 2
    CHANNEL = 3


@dataclass(frozen=True, slots=True)
class Overwrite:
    """One overwrite: the role, user or channel it is about, and whether it allows."""

    target_id: int
    type: TargetType
    allow: bool


#: A command id no overwrite is kept under (snowflakes are positive).
_NO_COMMAND = 0

#: A server's overwrites by the id they are kept under: a command's id, or the
#: application's id for the application-level ones.
Overwrites = Mapping[int, Sequence[Overwrite]]


class Access(enum.Enum):
    """Discord's decision, with the reason when it refuses."""

    ALLOWED = "allowed"
    #: A channel overwrite (this channel's, or "all channels") denies the command here.
    CHANNEL_DENIED = "channel_denied"
    #: A user or role overwrite (or @everyone's) denies the command to this member.
    MEMBER_DENIED = "member_denied"
    #: The member lacks a permission the command's ``default_member_permissions`` asks for.
    MISSING_PERMISSIONS = "missing_permissions"

    @property
    def allowed(self) -> bool:
        return self is Access.ALLOWED


@dataclass(frozen=True, slots=True)
class Asker:
    """Who would use the command, and where."""

    guild_id: int
    channel_id: int
    user_id: int
    role_ids: Collection[int]
    #: The member's permissions in the channel (as an interaction reports them).
    permissions: int
    #: The thread's parent channel when ``channel_id`` is a thread.
    parent_id: int | None = None


def all_channels_id(guild_id: int) -> int:
    """The id Discord uses for "all channels" of a server."""
    return guild_id - 1


def _one(overwrites: Iterable[Overwrite], kind: TargetType, target_id: int) -> bool | None:
    for overwrite in overwrites:
        if overwrite.type is kind and overwrite.target_id == target_id:
            return overwrite.allow
    return None


def _where(levels: Sequence[Sequence[Overwrite]], asker: Asker) -> bool:
    """Whether the channel allows the command: the first level with a say decides."""
    channel_id = asker.parent_id if asker.parent_id is not None else asker.channel_id
    for level in levels:
        for target in (channel_id, all_channels_id(asker.guild_id)):
            verdict = _one(level, TargetType.CHANNEL, target)
            if verdict is not None:
                return verdict
    return True


def _who(level: Sequence[Overwrite], asker: Asker) -> bool | None:
    """What one level says of the member, or None when it says nothing."""
    verdict = _one(level, TargetType.USER, asker.user_id)
    if verdict is not None:
        return verdict
    roles = [
        overwrite.allow
        for overwrite in level
        if overwrite.type is TargetType.ROLE
        and overwrite.target_id != asker.guild_id
        and overwrite.target_id in asker.role_ids
    ]
    if roles:
        return any(roles)
    return _one(level, TargetType.ROLE, asker.guild_id)


def _has_defaults(permissions: int, default_member_permissions: int | None) -> bool:
    if default_member_permissions is None:
        return True
    if default_member_permissions == 0:
        return False  # "0": nobody but administrators, unless an overwrite allows
    return permissions & default_member_permissions == default_member_permissions


def decide(
    overwrites: Overwrites,
    asker: Asker,
    *,
    application_id: int,
    command_id: int,
    default_member_permissions: int | None = None,
) -> Access:
    """What Discord decides when ``asker`` uses the command ``command_id`` (see the module's
    docstring for the rules)."""
    if asker.permissions & ADMINISTRATOR:
        return Access.ALLOWED
    command_level = overwrites.get(command_id, ())
    application_level = overwrites.get(application_id, ())
    if not _where((command_level, application_level), asker):
        return Access.CHANNEL_DENIED
    by_command = _who(command_level, asker)
    if by_command is not None:
        # A command-level allow also lifts default_member_permissions.
        return Access.ALLOWED if by_command else Access.MEMBER_DENIED
    if _who(application_level, asker) is False:
        return Access.MEMBER_DENIED
    if not _has_defaults(asker.permissions, default_member_permissions):
        return Access.MISSING_PERMISSIONS
    return Access.ALLOWED


def decide_any(
    overwrites: Overwrites,
    asker: Asker,
    *,
    application_id: int,
    commands: Mapping[int, int | None],
) -> Access:
    """The decision for a command that exists under several ids (globally and in a
    development server, say): allowed if any of them is; else the first one's refusal.
    ``commands`` maps each id to its ``default_member_permissions``; with none known, the
    application-level overwrites alone decide."""
    refusal = Access.ALLOWED
    for command_id, defaults in (commands or {_NO_COMMAND: None}).items():
        access = decide(
            overwrites,
            asker,
            application_id=application_id,
            command_id=command_id,
            default_member_permissions=defaults,
        )
        if access.allowed:
            return access
        if refusal.allowed:
            refusal = access
    return refusal
