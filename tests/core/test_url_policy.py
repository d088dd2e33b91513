"""Which image URLs may be fetched: every spelling of a non-public address is refused."""

from __future__ import annotations

import ipaddress
import socket

import pytest
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from core.url_policy import (
    NotPublic,
    PublicResolver,
    host_refusal,
    is_public_address,
    origin_of,
    url_refusal,
)

API_ORIGIN = origin_of(yarl.URL("http://127.0.0.1:8080"))


def refusal(url: str) -> str | None:
    return url_refusal(yarl.URL(url), API_ORIGIN)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "::1",
        "169.254.169.254",  # the cloud metadata services
        "fd00:ec2::254",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # shared (carrier-grade NAT)
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "fc00::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo of 127.0.0.1
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/a.jpg",
        "https://127.0.0.1./a.jpg",
        "https://[::1]/a.jpg",
        "https://[::1]:6379/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/a.jpg",
        "https://172.31.255.1/a.jpg",
        "https://192.168.0.10/a.jpg",
        "https://100.100.100.200/a.jpg",
        "https://0.0.0.0/a.jpg",
        "https://[::ffff:127.0.0.1]/a.jpg",
        "https://[::ffff:7f00:1]/a.jpg",
        "https://[fe80::1%25eth0]/a.jpg",
        "https://[fd00::1]/a.jpg",
        # Odd spellings of loopback that resolvers read as IPv4.
        "https://0x7f000001/a.jpg",
        "https://2130706433/a.jpg",
        "https://0177.0.0.1/a.jpg",
        "https://0177.0.0.01/a.jpg",
        "https://127.1/a.jpg",
        "https://0x7f.0.0.1/a.jpg",
        "https://0x7f.1/a.jpg",
        "https://017700000001/a.jpg",
        "https://1.2.3.0x4/a.jpg",
        "https://127.0.0.1%2e/a.jpg",
        "https://%31%32%37.0.0.1/a.jpg",
        # Ports other than 443, schemes other than https.
        "https://8.8.8.8:8443/a.jpg",
        "https://images.example:6379/a.jpg",
        "https://[2606:4700:4700::1111]:80/a.jpg",
        "http://8.8.8.8/a.jpg",
        "http://images.example/a.jpg",
        "ftp://images.example/a.jpg",
        "file:///etc/passwd",
        # The API's host, but not its origin.
        "http://127.0.0.1:8081/files/1.jpg",
        "https://127.0.0.1:8080/files/1.jpg",
    ],
)
def test_urls_into_the_bots_network_are_refused(url: str) -> None:
    assert refusal(url) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://imgen.x.ai/xai-tmp-imgen-1.jpeg",
        "https://images.example:443/a.jpg",
        "https://8.8.8.8/a.jpg",
        "https://[2606:4700:4700::1111]/a.jpg",
        "https://cdn-7.images.example./a_b.jpg",
        # The operator's own gateway, wherever it is.
        "http://127.0.0.1:8080/files/1.jpg",
    ],
)
def test_public_https_on_443_and_the_api_origin_pass(url: str) -> None:
    assert refusal(url) is None


def test_names_pass_the_url_check_and_are_checked_at_connect_time() -> None:
    # A name is not refused for what it might resolve to: PublicResolver sees to that.
    assert host_refusal("localhost") is None
    assert host_refusal("metadata.google.internal") is None
    assert host_refusal("") == "no host"


class _Fixed(AbstractResolver):
    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


@pytest.mark.asyncio
async def test_the_resolver_keeps_only_public_addresses() -> None:
    inner = _Fixed(["10.0.0.7", "93.184.215.14", "::1", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    resolver = PublicResolver(inner)
    found = await resolver.resolve("images.example", 443)
    assert [entry["host"] for entry in found] == [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]
    await resolver.close()
    assert inner.closed


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "addresses", [["127.0.0.1"], ["10.0.0.1", "169.254.169.254"], ["fe80::1%eth0"], []]
)
async def test_a_name_with_no_public_address_is_refused(addresses: list[str]) -> None:
    with pytest.raises(NotPublic, match="no public address"):
        await PublicResolver(_Fixed(addresses)).resolve("rebind.example", 443)


@pytest.mark.asyncio
async def test_the_real_resolver_refuses_localhost() -> None:
    resolver = PublicResolver()
    try:
        with pytest.raises(NotPublic):
            await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()
