"""Which image URLs the client may fetch: public addresses on port 443, or the API's own origin.

In URL mode the answer names the URLs, and the answer comes through a third-party
gateway: fetching whatever it names would let it reach the bot's own network (a cloud's
metadata service, a Redis on loopback, a router). So a URL is fetched only when it is the
API's own origin (scheme, host and port of ``GROK_API_BASE_URL``, which the operator
chose), or an ``https`` URL on port 443 whose host is a public address. The host is
checked twice: here, as written (IP literals never reach a resolver, and odd encodings
such as ``0x7f000001`` are refused outright), and at connect time by
:class:`PublicResolver`, which drops every address a name resolves to that is not public,
so that a name pointing at a private address is refused too, whatever it resolved to
when it was first looked at.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Any

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

#: The only port fetched from, but for the API's own origin.
PUBLIC_PORT = 443
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Where NAT64 gateways map the IPv4 internet into IPv6 (RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# A host whose last label is a number is an IPv4 address to URL parsers and resolvers,
# whatever its spelling (``2130706433``, ``0177.0.0.1``, ``0x7f.1``); no real name ends so.
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_HOST_NAME = re.compile(r"[a-z0-9._-]+", re.IGNORECASE)

Origin = tuple[str, str, int | None]


class NotPublic(OSError):
    """A host name resolved to no public address; nothing was connected to."""


def origin_of(url: yarl.URL) -> Origin:
    """(scheme, host, port) of ``url``, lower-cased, the port with its default."""
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


def is_public_address(address: IPAddress) -> bool:
    """Whether ``address`` is on the public internet.

    Loopback, private, link-local (the metadata services), shared, reserved, multicast
    and unspecified addresses are not; nor is an IPv6 address that carries one of those
    in an IPv4-mapped, 6to4, Teredo or NAT64 form.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def host_refusal(host: str) -> str | None:
    """Why ``host`` (as a URL spells it) may not be fetched from, or None when it may be
    looked up (a name) or is a public IP address."""
    if not host:
        return "no host"
    bare = host[:-1] if host.endswith(".") else host
    if "%" in bare:
        return "an encoded or scoped host"
    try:
        address = ipaddress.ip_address(bare.strip("[]"))
    except ValueError:
        pass
    else:
        return None if is_public_address(address) else "not a public address"
    if not _HOST_NAME.fullmatch(bare):
        return "not a host name"
    if _NUMERIC_LABEL.fullmatch(bare.rsplit(".", 1)[-1]):
        return "an IP address in an unusual spelling"
    return None


def url_refusal(url: yarl.URL, api_origin: Origin, port: int = PUBLIC_PORT) -> str | None:
    """Why ``url`` may not be fetched, or None when it may.

    The API's own origin is always allowed. Anything else must be ``https`` on ``port``
    with a host :func:`host_refusal` lets through; a host name is checked again once it
    is resolved (see :class:`PublicResolver`).
    """
    if not url.host:
        return "no host"
    if origin_of(url) == api_origin:
        return None
    if url.scheme != "https":
        return "not https and not the API's origin"
    if url.port != port:
        return f"port {url.port} is not {port}"
    return host_refusal(url.raw_host or "")


class PublicResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the public addresses a name resolves to.

    aiohttp connects to what the resolver returns, so the check holds at connect time:
    a name that resolves to no public address raises :class:`NotPublic` and nothing is
    connected to. (aiohttp does not ask the resolver about IP literals: those are
    checked by :func:`url_refusal` before the request.)
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The public addresses of ``host``; :class:`NotPublic` when there are none."""
        found = await self._inner.resolve(host, port, family)
        public = [entry for entry in found if _public_entry(entry)]
        if not public:
            raise NotPublic(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


def _public_entry(entry: ResolveResult | dict[str, Any]) -> bool:
    try:
        address = ipaddress.ip_address(str(entry["host"]).split("%", 1)[0])
    except (KeyError, ValueError):
        return False
    return is_public_address(address)
