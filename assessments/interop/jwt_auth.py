"""Who is calling the CDS Hooks service: the EHR's signed JWT (CDS Hooks 2.0.1
"Trusting CDS Clients", docs/CODES.md "CDS Hooks 2.0.1: security rules").

A call is accepted only when all of these hold; any failure is a 401 with no detail
(the reason is logged with ``iss``, ``tenant`` and ``jti`` only, never the token):

- header: ``alg`` ES384 or RS384 (never ``none``, never HMAC), ``kid`` present,
  ``typ`` ``JWT``; a ``jku``, when sent, must be the client's registered JWKS URL;
- ``iss`` is a registered client (``CDS_HOOKS_CLIENTS``), bound to one care site;
- the signature verifies with the client's key of that ``kid`` (a P-384 key for ES384,
  an RSA key of at least 2048 bits for RS384), from its JWKS file or URL;
- ``aud`` is exactly the URL called; ``exp`` not passed and ``iat`` not in the future,
  each with 60 s of leeway (the public sandbox rounds ``iat`` up); ``jti`` present and
  the token lives at most an hour;
- a registered ``tenant``, when the client has one, matches;
- ``jti`` not seen before from this issuer: kept in Redis (``SET NX`` with the token's
  remaining life) or, when Redis is not configured or does not answer, in the database.

PyJWT (with ``cryptography``) does the cryptography and the claim checks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Organization
from .models import UsedJwtId

log = logging.getLogger("mr_cds.cds_hooks.auth")

ALGORITHMS = ("ES384", "RS384")
LEEWAY_S = 60
MAX_LIFETIME_S = 3600
JWKS_FETCH_TIMEOUT_S = 2
JWKS_CACHE_S = 300


class CdsAuthError(Exception):
    """The call is refused (401). ``str()`` is for the log only, never the response."""


@dataclass(frozen=True)
class CdsClient:
    """One registered EHR: its issuer, where its public keys are, and its care site."""

    iss: str
    organization: str
    jwks_url: str = ""
    jwks_file: str = ""
    tenant: str = ""
    origins: tuple[str, ...] = field(default=())


def clients() -> dict[str, CdsClient]:
    """The registered EHRs, by issuer (``settings.CDS_HOOKS_CLIENTS``)."""
    registered = {}
    for entry in getattr(settings, "CDS_HOOKS_CLIENTS", None) or []:
        client = CdsClient(
            iss=entry["iss"],
            organization=entry["organization"],
            jwks_url=entry.get("jwks_url", ""),
            jwks_file=entry.get("jwks_file", ""),
            tenant=entry.get("tenant", ""),
            origins=tuple(entry.get("origins", ())),
        )
        registered[client.iss] = client
    return registered


def client_problems(entries) -> list[str]:
    """What is wrong with a CDS_HOOKS_CLIENTS value (for the settings check)."""
    if not isinstance(entries, list):
        return ["CDS_HOOKS_CLIENTS must be a JSON list"]
    problems = []
    for index, entry in enumerate(entries):
        where = f"CDS_HOOKS_CLIENTS[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be an object")
            continue
        if not entry.get("iss") or not entry.get("organization"):
            problems.append(f"{where} needs 'iss' and 'organization'")
        if bool(entry.get("jwks_url")) == bool(entry.get("jwks_file")):
            problems.append(f"{where} needs exactly one of 'jwks_url' and 'jwks_file'")
        if entry.get("jwks_url") and not str(entry["jwks_url"]).startswith("https://"):
            problems.append(f"{where}.jwks_url must be an https URL")
    return problems


# --- keys -----------------------------------------------------------------------------

_url_clients: dict[str, jwt.PyJWKClient] = {}
_file_sets: dict[str, tuple[float, jwt.PyJWKSet]] = {}


def _signing_key(client: CdsClient, kid: str):
    try:
        if client.jwks_file:
            path = Path(client.jwks_file)
            mtime = path.stat().st_mtime
            cached = _file_sets.get(client.jwks_file)
            if cached is None or cached[0] != mtime:
                cached = (mtime, jwt.PyJWKSet.from_dict(json.loads(path.read_text())))
                _file_sets[client.jwks_file] = cached
            matches = [k for k in cached[1].keys if k.key_id == kid]
            if len(matches) != 1:
                raise CdsAuthError("unknown kid")
            return matches[0].key
        reader = _url_clients.get(client.jwks_url)
        if reader is None:
            reader = _url_clients[client.jwks_url] = jwt.PyJWKClient(
                client.jwks_url,
                cache_jwk_set=True,
                lifespan=JWKS_CACHE_S,
                timeout=JWKS_FETCH_TIMEOUT_S,
            )
        return reader.get_signing_key(kid).key
    except CdsAuthError:
        raise
    except (jwt.PyJWKClientError, jwt.PyJWKSetError, jwt.InvalidKeyError) as exc:
        raise CdsAuthError(f"no key: {type(exc).__name__}") from None
    except (OSError, ValueError) as exc:
        raise CdsAuthError(f"JWKS unreadable: {type(exc).__name__}") from None


def _key_fits(alg: str, key) -> bool:
    if alg == "ES384":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
            key.curve, ec.SECP384R1
        )
    return isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048


# --- the check ------------------------------------------------------------------------


def client_authenticate(*, authorization: str, audience: str) -> tuple[CdsClient, dict]:
    """The registered client that signed the bearer JWT, and its claims; raises
    ``CdsAuthError`` on anything short of every rule above."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CdsAuthError("no bearer token")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CdsAuthError("not a JWT") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise CdsAuthError(f"algorithm {alg!r} refused")
    if not kid or not isinstance(kid, str):
        raise CdsAuthError("no kid")
    if str(header.get("typ", "")).upper() != "JWT":
        raise CdsAuthError("typ is not JWT")
    iss = unverified.get("iss")
    client = clients().get(iss) if isinstance(iss, str) else None
    if client is None:
        raise CdsAuthError("issuer not registered")
    jku = header.get("jku")
    if jku is not None and jku != client.jwks_url:
        raise CdsAuthError("jku not registered for this issuer")
    key = _signing_key(client, kid)
    if not _key_fits(alg, key):
        raise CdsAuthError("key does not fit the algorithm")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audience,
            issuer=client.iss,
            leeway=LEEWAY_S,
            options={
                "require": ["iss", "aud", "exp", "iat", "jti"],
                "verify_iat": True,
            },
        )
    except jwt.PyJWTError as exc:
        raise CdsAuthError(f"token refused: {type(exc).__name__}") from None
    now = time.time()
    if not isinstance(claims["iat"], int | float) or claims["iat"] > now + LEEWAY_S:
        raise CdsAuthError("iat in the future")
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_S:
        raise CdsAuthError("token lives more than an hour")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise CdsAuthError("jti missing")
    if client.tenant and claims.get("tenant") != client.tenant:
        raise CdsAuthError("tenant not registered")
    if not jti_claim(issuer=client.iss, jti=claims["jti"], expires=claims["exp"]):
        raise CdsAuthError("jti replayed")
    return client, claims


def jti_claim(*, issuer: str, jti: str, expires: float) -> bool:
    """True the first time ``jti`` of ``issuer`` is seen (until it expires)."""
    ttl = max(1, int(expires - time.time()) + LEEWAY_S)
    if settings.REDIS_URL:
        digest = hashlib.sha256(f"{issuer}\n{jti}".encode()).hexdigest()
        try:
            return bool(cache.add(f"cds-hooks:jti:{digest}", 1, timeout=ttl))
        except Exception:  # Redis down: the database keeps the ids instead
            log.warning("CDS Hooks jti store: Redis unavailable, using the database")
    now = timezone.now()
    UsedJwtId.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            UsedJwtId.objects.create(
                issuer=issuer[:255],
                jti=jti[:255],
                expires_at=now + dt.timedelta(seconds=ttl),
            )
    except IntegrityError:
        return False
    return True


def client_organization(client: CdsClient) -> Organization:
    try:
        return Organization.objects.get(name=client.organization)
    except Organization.DoesNotExist:
        raise CdsAuthError("client's care site does not exist") from None


def log_refusal(exc: CdsAuthError, authorization: str) -> None:
    """Log why a call was refused, naming only iss, tenant and jti."""
    claims = {}
    try:
        token = (authorization or "").partition(" ")[2].strip()
        claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
    except jwt.PyJWTError:
        pass
    safe = {
        k: str(claims.get(k))[:200] for k in ("iss", "tenant", "jti") if k in claims
    }
    log.warning("CDS Hooks call refused: %s %s", exc, safe)
