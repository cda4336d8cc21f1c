"""Webhook targets only on public addresses (SSRF guard), at registration and on connect.

An operator's webhook URL makes the api send requests from inside the deployment:
pointed at ``127.0.0.1``, ``10.x``, ``169.254.169.254`` (cloud metadata) or a
ULA, it reaches what a firewall hides from the outside. So a target must resolve
to global unicast addresses only, unless its network is allow-listed in
``API_WEBHOOK_ALLOW_NETWORKS``.

Checking the URL at registration is not enough: a name may resolve to a public
address then, and to ``127.0.0.1`` at delivery time (DNS rebinding). So the
webhook client connects through :class:`GuardedBackend`, which resolves the name
itself, checks every address, and connects to the very address it checked (TLS
still verifies the certificate against the name).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
REFUSED = "webhook target refused"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(httpcore.ConnectError):
    """The target resolves to an address outside the public internet (not allowed).

    A ``ConnectError``: the delivery fails like an unreachable host, and httpx maps
    it to ``httpx.ConnectError`` with this message.
    """


def networks(cidrs: Iterable[str]) -> list[IPNetwork]:
    """The allow-list of settings as networks."""
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address it carries (mapped, 6to4, Teredo, NAT64)."""
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _public(address: IPAddress) -> bool:
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
    )


def refusal(address: str, allow: list[IPNetwork]) -> str | None:
    """Why ``address`` may not be reached, or None if it may.

    Allowed: an address inside an allow-listed network, or a global unicast address
    that embeds no non-global IPv4 address (``::ffff:127.0.0.1``, ``2002:7f00:1::``).
    Refused: loopback, private (RFC 1918, ULA ``fc00::/7``), link-local, shared
    (``100.64.0.0/10``), multicast, reserved, unspecified.
    """
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{REFUSED}: not an IP address"
    if any(parsed in net for net in allow if net.version == parsed.version):
        return None
    if all(_public(a) for a in _embedded(parsed)):
        return None
    return f"{REFUSED}: {parsed} is not a public address (API_WEBHOOK_ALLOW_NETWORKS)"


async def system_resolve(host: str, port: int, timeout_s: float = 5.0) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal resolves to itself)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_target(
    url: str, allow: list[IPNetwork], resolve: Resolver = system_resolve
) -> str | None:
    """Why a webhook URL is refused at registration, or None if it is accepted.

    Every address the name resolves to must be allowed: a connection may pick any.
    """
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"{REFUSED}: an http(s) URL with a host is required"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = await resolve(parsed.host, port)
    except (OSError, TimeoutError, UnicodeError):
        return f"{REFUSED}: the host does not resolve"
    if not addresses:
        return f"{REFUSED}: the host does not resolve"
    for address in addresses:
        reason = refusal(address, allow)
        if reason:
            return reason
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to allowed addresses, resolving names itself (no rebinding)."""

    def __init__(
        self,
        allow: list[IPNetwork],
        *,
        resolve: Resolver = system_resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow, self._resolve = allow, resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolves ``host``, refuses if any address is not allowed, connects to one.

        All addresses must pass (as at registration): a name that mixes a public
        and a private address is an attack, not a fallback.
        """
        try:
            addresses = await self._resolve(host, port)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve the target: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError("cannot resolve the target")
        for address in addresses:
            reason = refusal(address, self._allow)
            if reason:
                raise TargetRefused(reason)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # try the next address
                error = exc
        raise error or httpcore.ConnectError("no address to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a webhook is a TCP target."""
        raise TargetRefused(f"{REFUSED}: unix sockets")

    async def sleep(self, seconds: float) -> None:
        """As the wrapped backend does."""
        await self._inner.sleep(seconds)


def guarded_client(
    allow: list[IPNetwork],
    *,
    timeout_s: float,
    resolve: Resolver = system_resolve,
) -> httpx.AsyncClient:
    """The webhook client: guarded connections, no proxy from the environment.

    A proxy would resolve the name itself, out of our sight, so ``trust_env`` is
    off. httpx takes no network backend, so the transport's connection pool is
    replaced by one built with ours (same defaults otherwise).
    """
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(allow, resolve=resolve),
    )
    return httpx.AsyncClient(transport=transport, timeout=timeout_s, trust_env=False)
