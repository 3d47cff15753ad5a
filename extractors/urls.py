"""Canonical URLs (the article key) and the address-safety check for feed-supplied links."""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track the reader rather than name the page.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "__hs", "_hs", "hsa_", "vero_", "oly_")
# Kept conservative: names some sites use for the article id itself (id, cid, src) stay.
_TRACKING_NAMES = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "ocid", "cmpid",
    "ref", "ref_src", "_ga", "_gl", "spm", "smid", "sr_share", "at_medium", "at_campaign",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeURL(ValueError):
    """A URL seedwatch refuses to fetch (scheme or address)."""


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters,
    remaining parameters sorted. Two links to the same page give the same string."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _is_tracking(k)]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def strip_userinfo(url: str) -> str:
    """The URL without `user:password@`: credentials supplied by a feed (or a redirect) are
    never sent, stored or logged."""
    if "@" not in url:  # nearly every URL: no need to split it
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query,
                       parts.fragment))


def _is_tracking(name: str) -> bool:
    n = name.lower()
    return n in _TRACKING_NAMES or n.startswith(_TRACKING_PREFIXES)


def check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(f"scheme {scheme or '(none)'!r} is not fetched: only http and https")


def is_private_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
            or addr.is_multicast or addr.is_unspecified)


def check_address(url: str, allow_private: bool) -> None:
    """Refuse loopback, private, link-local and metadata addresses unless allowed.

    The name is resolved here; a DNS answer that changes between this check and the
    connection (rebinding) is not covered, which is acceptable for a news reader.
    """
    check_scheme(url)
    if allow_private:
        return
    host = urlsplit(url).hostname
    if not host:
        raise UnsafeURL("URL has no host")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeURL(f"host {host} does not resolve: {exc.strerror}") from None
    for info in infos:
        ip = info[4][0]
        if is_private_address(ip):
            raise UnsafeURL(f"host {host} resolves to a private or local address ({ip})")
