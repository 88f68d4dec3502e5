"""The CDS Hooks JWT rules (CDS Hooks 2.0.1 "Trusting CDS Clients", docs/CODES.md):
ES384 and RS384 accepted; none, HMAC, wrong aud, expired, future iat, replayed jti,
unknown kid, unlisted iss or jku refused with a bare 401. Keys are made at run time."""

import base64
import json
import logging
import time

import jwt
import pytest
from django.test import override_settings

from assessments.interop.models import UsedJwtId
from assessments.models import AuditEvent

from .conftest import DISCOVERY_URL, ISSUER, make_token

pytestmark = pytest.mark.django_db


def discover(client, token):
    return client.get("/cds-services", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_an_es384_token_of_a_registered_ehr_is_accepted(client, cds_client, ec_key):
    response = discover(client, make_token(ec_key, aud=DISCOVERY_URL))
    assert response.status_code == 200
    assert response.json()["services"][0]["id"] == "mr-cds-patient-view"


def test_an_rs384_token_of_a_registered_ehr_is_accepted(client, cds_client, rsa_key):
    token = make_token(rsa_key, alg="RS384", kid="rsa-1", aud=DISCOVERY_URL)
    assert discover(client, token).status_code == 200


def test_iat_up_to_60_seconds_ahead_is_accepted(client, cds_client, ec_key):
    # The public sandbox rounds iat up (CODES.md): 60 s of leeway.
    token = make_token(ec_key, aud=DISCOVERY_URL, iat=int(time.time()) + 50)
    assert discover(client, token).status_code == 200


def _unsigned(payload):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-1'})}.{part(payload)}."


def _refused_tokens(ec_key, rsa_key):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": DISCOVERY_URL,
        "iat": now,
        "exp": now + 300,
        "jti": "x-1",
    }
    other_ec = __import__(
        "cryptography.hazmat.primitives.asymmetric.ec", fromlist=["ec"]
    ).generate_private_key(
        __import__(
            "cryptography.hazmat.primitives.asymmetric.ec", fromlist=["ec"]
        ).SECP384R1()
    )
    return {
        "alg none": _unsigned(claims),
        "HS256": jwt.encode(
            claims,
            "shared-secret-of-32-bytes-or-more!!",
            algorithm="HS256",
            headers={"kid": "ec-1"},
        ),
        "RS256 (not allowed)": make_token(
            rsa_key, alg="RS256", kid="rsa-1", aud=DISCOVERY_URL
        ),
        "wrong aud": make_token(ec_key, aud="http://testserver/cds-services/other"),
        "aud of another endpoint": make_token(ec_key),  # the patient-view URL
        "expired": make_token(ec_key, aud=DISCOVERY_URL, iat=now - 600, exp=now - 120),
        "iat in the future": make_token(
            ec_key, aud=DISCOVERY_URL, iat=now + 300, exp=now + 600
        ),
        "lives over an hour": make_token(ec_key, aud=DISCOVERY_URL, exp=now + 7200),
        "unknown kid": make_token(ec_key, aud=DISCOVERY_URL, kid="nope"),
        "no kid": jwt.encode(claims, ec_key, algorithm="ES384"),
        "signed by another key": make_token(other_ec, aud=DISCOVERY_URL),
        "ES384 header on the RSA kid": make_token(
            ec_key, aud=DISCOVERY_URL, kid="rsa-1"
        ),
        "unlisted iss": make_token(
            ec_key, aud=DISCOVERY_URL, iss="https://evil.example"
        ),
        "unlisted jku": make_token(
            ec_key, aud=DISCOVERY_URL, headers={"jku": "https://evil.example/jwks"}
        ),
        "no jti": jwt.encode(
            {k: v for k, v in claims.items() if k != "jti"},
            ec_key,
            algorithm="ES384",
            headers={"kid": "ec-1"},
        ),
        "not a JWT": "abc.def",
    }


CASES = [
    "alg none",
    "HS256",
    "RS256 (not allowed)",
    "wrong aud",
    "aud of another endpoint",
    "expired",
    "iat in the future",
    "lives over an hour",
    "unknown kid",
    "no kid",
    "signed by another key",
    "ES384 header on the RSA kid",
    "unlisted iss",
    "unlisted jku",
    "no jti",
    "not a JWT",
]


@pytest.mark.parametrize("case", CASES)
def test_it_refuses_with_a_bare_401(client, cds_client, ec_key, rsa_key, case, caplog):
    token = _refused_tokens(ec_key, rsa_key)[case]
    with caplog.at_level(logging.INFO):
        response = discover(client, token)
    assert response.status_code == 401
    assert response.content == b""  # no detail
    assert response["WWW-Authenticate"] == "Bearer"
    assert token not in caplog.text  # never the token in the logs
    assert AuditEvent.objects.filter(detail__contains="refused (401)").exists()


def test_no_token_and_no_registered_client_are_401(
    client, cds_client, ec_key, settings
):
    assert client.get("/cds-services").status_code == 401
    settings.CDS_HOOKS_CLIENTS = []
    assert discover(client, make_token(ec_key, aud=DISCOVERY_URL)).status_code == 401


def test_a_replayed_jti_is_refused(client, cds_client, ec_key):
    token = make_token(ec_key, aud=DISCOVERY_URL, jti="once-only")
    assert discover(client, token).status_code == 200
    assert discover(client, token).status_code == 401
    # A new token with the same jti is a replay too.
    assert (
        discover(
            client, make_token(ec_key, aud=DISCOVERY_URL, jti="once-only")
        ).status_code
        == 401
    )


def test_a_registered_tenant_must_match(client, cds_client, ec_key, settings):
    settings.CDS_HOOKS_CLIENTS = [{**cds_client, "tenant": "site-42"}]
    assert discover(client, make_token(ec_key, aud=DISCOVERY_URL)).status_code == 401
    token = make_token(ec_key, aud=DISCOVERY_URL, tenant="site-42")
    assert discover(client, token).status_code == 200


def test_without_redis_the_database_keeps_the_used_ids(client, cds_client, ec_key):
    dead = "redis://127.0.0.1:6399/0"  # nothing listens there
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    token = make_token(ec_key, aud=DISCOVERY_URL, jti="redis-down")
    with override_settings(REDIS_URL=dead, CACHES=caches):
        assert discover(client, token).status_code == 200
        assert discover(client, token).status_code == 401
    assert UsedJwtId.objects.filter(issuer=ISSUER, jti="redis-down").exists()


def test_the_specification_example_token_verifies_and_fails_on_exp_and_aud():
    """CDS Hooks 2.0.1 example (kid example-kid): PyJWT verifies its ES384 signature."""
    jwk = {
        "kty": "EC",
        "use": "sig",
        "crv": "P-384",
        "kid": "example-kid",
        "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
        "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI",
        "alg": "ES384",
    }
    token = (
        "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6"
        "Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4"
        "YW1wbGUuY29tLyIsInN1YiI6ImNsaWVudF9pZCIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3Jn"
        "L2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3"
        "MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRk"
        "ZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.CUFPkplnWd6YGIvzoHolWCQBDsCL8QtT"
        "WKGg_QFpS169WrqDGzktRi-_we6-6rVzbjerU27ZKww_SW0-b9RTz-dPJNcqsueMio8r6EqXUXhbLm_c"
        "h3XFSbDlGHDl_tqo"
    )
    key = jwt.PyJWK(jwk).key
    aud = "https://cds.example.org/cds-services/some-service"
    claims = jwt.decode(
        token, key, algorithms=["ES384"], audience=aud, options={"verify_exp": False}
    )
    assert claims["jti"] == "ee22b021-e1b7-4611-ba5b-8eec6a33ac1e"
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, key, algorithms=["ES384"], audience=aud)
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(
            token,
            key,
            algorithms=["ES384"],
            audience=aud + "-other",
            options={"verify_exp": False},
        )
