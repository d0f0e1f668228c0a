"""The only HTTP in watcher: one async client, bounded in every way a hostile server could abuse.

Concurrency is limited globally and per host; every request has connect/read/total timeouts, a
body size cap counted after decompression (so a gzip bomb stops at the cap), a redirect limit, and
no redirect into loopback, link-local or private addresses unless the source allows it. Retries
with backoff and jitter on the adapter's retry statuses and on transport errors. Conditional GET
(ETag / Last-Modified): a 304 is a value (`Fetched.not_modified`), not an exception.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import os
import random
import re
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import certifi
import httpx

from watcher.errors import FetchError
from watcher.models import Fetched, SourceRequest

__all__ = ["FetchSettings", "Fetcher", "Validators"]

log = logging.getLogger(__name__)
_ENV_REF = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchSettings:
    user_agent: str = "watcher/0.1"
    timeout: float = 30.0  # total seconds for one attempt, body included
    connect_timeout: float = 10.0
    max_body_bytes: int = 64 * 1024 * 1024
    concurrency: int = 32
    per_host: int = 4
    retries: int = 2
    backoff: float = 1.0
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class Validators:
    """What the last good response said, for a conditional GET."""

    etag: str | None
    last_modified: str | None
    sha256: str


class Fetcher:
    """Use as `async with Fetcher(settings) as fetcher: await fetcher.fetch(request)`."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._tls = ssl.create_default_context(cafile=certifi.where())  # loaded once: 50 ms per load
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._next_slot: dict[str, float] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _client(self, proxy: str | None, host: str) -> httpx.AsyncClient:
        # One small pool per host: httpcore scans its whole pool on every request, so one pool for
        # a thousand hosts costs quadratic time.
        key = f"{proxy or ''}|{host}"
        if key not in self._clients:
            s = self.settings
            self._clients[key] = httpx.AsyncClient(
                proxy=proxy,
                follow_redirects=False,
                timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout),
                limits=httpx.Limits(max_connections=s.per_host, max_keepalive_connections=s.per_host),
                headers={"User-Agent": s.user_agent},
                trust_env=False,
                verify=self._tls,
            )
        return self._clients[key]

    async def fetch(
        self,
        request: SourceRequest,
        *,
        validators: Validators | None = None,
        retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504}),
        proxy: str | None = None,
        allow_private: bool = False,
        min_interval: float = 0.0,
        jitter: float = 0.0,
    ) -> Fetched:
        """One request with retries; FetchError when it finally fails. `min_interval`: seconds between
        two requests to the host; `jitter`: a random gap of up to this long added before each."""
        attempts = 1 + self.settings.retries
        for attempt in range(attempts):
            try:
                await self._pace(urlsplit(request.url).netloc, min_interval, jitter)
                return await self._attempt(request, validators, proxy, allow_private, retry_statuses)
            except _Retryable as exc:
                if attempt + 1 >= attempts:
                    where = f"{exc} (after {attempts} attempt{'s' if attempts > 1 else ''}; {request.url})"
                    raise FetchError(where, url=request.url, status=exc.status) from None
                delay = exc.retry_after or self.settings.backoff * (2**attempt) * random.uniform(0.5, 1.5)
                log.info("retrying url=%s in %.1fs: %s", request.url, delay, exc)
                await asyncio.sleep(min(delay, 60.0))
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        request: SourceRequest,
        validators: Validators | None,
        proxy: str | None,
        allow_private: bool,
        retry_statuses: frozenset[int],
    ) -> Fetched:
        host = urlsplit(request.url).netloc
        async with self._global, self._host(host):
            try:
                async with asyncio.timeout(self.settings.timeout):
                    return await self._exchange(request, validators, proxy, allow_private, retry_statuses)
            except TimeoutError:
                raise _Retryable(f"timed out after {self.settings.timeout:g}s") from None
            except httpx.TransportError as exc:
                raise _Retryable(f"{exc.__class__.__name__}: {exc or 'connection failed'}") from None

    def _host(self, host: str) -> asyncio.Semaphore:
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.settings.per_host)
        return self._hosts[host]

    async def _pace(self, host: str, min_interval: float, jitter: float) -> None:
        """Wait for the request's slot: sources with a documented spacing (GDELT: one per 5 s) get it,
        and a random pause hides the rhythm of name searches. Slots are reserved before any
        connection slot is taken, so a waiting request holds none."""
        if min_interval <= 0 and jitter <= 0:
            return
        now = time.monotonic()
        slot = max(now, self._next_slot.get(host, now)) + random.uniform(0, jitter)
        self._next_slot[host] = slot + min_interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _exchange(
        self,
        request: SourceRequest,
        validators: Validators | None,
        proxy: str | None,
        allow_private: bool,
        retry_statuses: frozenset[int],
    ) -> Fetched:
        headers = {k: _expand_env(v) for k, v in request.headers.items()}
        templates = {k.lower(): v for k, v in request.headers.items() if _ENV_REF.search(v)}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        client = self._client(proxy, urlsplit(request.url).netloc)
        # httpx.URL(url, params=...) replaces the URL's own query; merging keeps both.
        url = (
            str(httpx.URL(request.url).copy_merge_params(dict(request.params)))
            if request.params
            else request.url
        )
        method: str = request.method
        body = request.body
        redirected = False
        for _ in range(self.settings.max_redirects + 1):
            req = client.build_request(method, url, headers=headers, content=body)
            response = await client.send(req, stream=True)
            try:
                if redirected and not allow_private and proxy is None:
                    _check_peer(response, url)  # the name may have resolved otherwise when connecting
                if response.status_code in REDIRECTS and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    await self._check_redirect(url, allow_private, proxied=proxy is not None)
                    redirected = True
                    if response.status_code == 303:
                        method, body = "GET", None
                    continue
                sent = {k: templates.get(k, v) for k, v in req.headers.items()}  # never a secret's value
                return await self._complete(request, url, response, validators, retry_statuses, sent)
            finally:
                await response.aclose()
        raise FetchError(f"more than {self.settings.max_redirects} redirects", url=request.url)

    async def _complete(
        self,
        request: SourceRequest,
        url: str,
        response: httpx.Response,
        validators: Validators | None,
        retry_statuses: frozenset[int],
        sent: dict[str, str],
    ) -> Fetched:
        status = response.status_code
        now = datetime.now(UTC)
        resp_headers = {k.lower(): v for k, v in response.headers.items()}
        if status == 304 and validators is not None:
            return Fetched(
                request, url, status, resp_headers, b"", validators.sha256, now, not_modified=True, sent=sent
            )
        if status not in request.ok_statuses:
            retry_after = _retry_after(resp_headers.get("retry-after"))
            message = f"HTTP {status} {response.reason_phrase}".strip()
            if status in retry_statuses:
                raise _Retryable(message, status=status, retry_after=retry_after)
            raise FetchError(message, url=url, status=status)
        body = await self._read_capped(response, url)
        digest = hashlib.sha256(body).hexdigest()
        return Fetched(request, url, status, resp_headers, body, digest, now, sent=sent)

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        cap = self.settings.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"body of {int(declared):,} bytes exceeds the cap of {cap:,}", url=url)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():  # decoded: the cap holds after decompression
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"body exceeds the cap of {cap:,} bytes (after decompression)", url=url)
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            raise FetchError(f"body could not be decompressed: {exc}", url=url) from None
        return b"".join(chunks)

    async def _check_redirect(self, url: str, allow_private: bool, *, proxied: bool) -> None:
        """Refuse a redirect into private or local addresses. Through a proxy the proxy resolves names
        (Tor, remote DNS): resolving here would leak the target to the local resolver and cannot
        reach .onion names, so only literal addresses and local names are checked."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"redirect to a non-HTTP URL refused: {url}", url=url)
        if allow_private:
            return
        host = parts.hostname or ""
        if proxied:
            _check_literal(host, url)
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 80)
        except OSError:
            raise FetchError(f"redirect to an unresolvable host refused: {host}", url=url) from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise FetchError(
                    f"redirect into a private or local address refused: {url} ({address})", url=url
                )


def _check_literal(host: str, url: str) -> None:
    if host == "localhost" or host.endswith(".localhost"):
        raise FetchError(f"redirect into a private or local address refused: {url}", url=url)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return  # a name: the proxy resolves it
    if not address.is_global:
        raise FetchError(f"redirect into a private or local address refused: {url} ({address})", url=url)


def _check_peer(response: httpx.Response, url: str) -> None:
    """The address the redirected request really connected to (a name that resolved to a public
    address when checked may resolve to a private one when connecting: DNS rebinding)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return
    address = ipaddress.ip_address(peer[0])
    if not address.is_global:
        raise FetchError(
            f"redirect connected to a private or local address, refused: {url} ({address})", url=url
        )


class _Retryable(Exception):
    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return min(float(value), 60.0)
    return None


def _expand_env(value: str) -> str:
    """'{env:NAME}' in an adapter's header becomes the variable's value; never logged or stored."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise FetchError(f"environment variable {name} is not set (the source's header needs it)")
        return os.environ[name]

    return _ENV_REF.sub(sub, value)
