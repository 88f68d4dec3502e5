"""Interop test helpers: FHIR resources, EHR signing keys made at run time, signed JWTs,
and a registered CDS Hooks client of the clinician's care site."""

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ISSUER = "https://ehr.example.org"
SERVICE_URL = "http://testserver/cds-services/mr-cds-patient-view"
DISCOVERY_URL = "http://testserver/cds-services"
FEEDBACK_URL = "http://testserver/cds-services/mr-cds-patient-view/feedback"
ORIGIN = "https://ehr-ui.example.org"


def observation(
    code,
    value,
    unit,
    *,
    system=LOINC,
    date="2025-03-01",
    obs_id=None,
    patient="Patient/p1",
):
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": patient},
        "effectiveDateTime": date,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if obs_id:
        resource["id"] = obs_id
    return resource


def patient_resource(*, birth="1958-06-15", gender="female", mrn="MRN-0001"):
    return {
        "resourceType": "Patient",
        "id": "p1",
        "gender": gender,
        "birthDate": birth,
        "identifier": [{"system": "urn:oid:1.2.3", "value": mrn}],
    }


def condition(code, display=None, *, system=SNOMED):
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {
        "resourceType": "Condition",
        "code": {"coding": [coding]},
        "subject": {"reference": "Patient/p1"},
    }


# Severe degenerative primary MR (ACC/AHA 2020 stage D with NYHA... here no symptoms):
# EROA 0.45 cm² (PISA), RVol 68 mL, LVEF 62 %, LVESD 36 mm, LVEDD 55 mm.
def echo_observations():
    return [
        observation("80071-4", 0.45, "cm2", obs_id="eroa"),
        observation("80064-9", 68, "mL", obs_id="rvol"),
        observation("18043-0", 62, "%", obs_id="lvef"),
        observation("29438-9", 3.6, "cm", obs_id="lvesd"),  # carts send cm: 36 mm
        observation("29436-3", 55, "mm", obs_id="lvedd"),
    ]


def bundle(*resources):
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}"
                if r["resourceType"] != "Patient"
                else "Patient/p1",
                "resource": r,
            }
            for r in resources
        ],
    }


def searchset(*resources):
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def full_bundle():
    return bundle(
        patient_resource(),
        *echo_observations(),
        observation("8302-2", 165, "cm"),
        observation("29463-7", 68.5, "kg"),
        condition("409712001", "Mitral valve prolapse"),
    )


# --- keys and tokens ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def ec_key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key, kid, alg):
    jwk = json.loads(
        jwt.algorithms.get_default_algorithms()[alg].to_jwk(private_key.public_key())
    )
    jwk.update(kid=kid, alg=alg, use="sig")
    return jwk


@pytest.fixture
def jwks_file(tmp_path, ec_key, rsa_key):
    path = tmp_path / "ehr-jwks.json"
    path.write_text(
        json.dumps(
            {
                "keys": [
                    public_jwk(ec_key, "ec-1", "ES384"),
                    public_jwk(rsa_key, "rsa-1", "RS384"),
                ]
            }
        )
    )
    return path


@pytest.fixture
def cds_client(settings, jwks_file, organization):
    """The EHR of the clinician's care site, registered with a JWKS file."""
    settings.CDS_HOOKS_CLIENTS = [
        {
            "iss": ISSUER,
            "jwks_file": str(jwks_file),
            "organization": organization.name,
            "origins": [ORIGIN],
        }
    ]
    settings.CDS_HOOKS_FHIR_ALLOW_HTTP = True  # the loopback mock FHIR server
    return settings.CDS_HOOKS_CLIENTS[0]


def make_token(
    key,
    *,
    alg="ES384",
    kid="ec-1",
    aud=SERVICE_URL,
    iss=ISSUER,
    iat=None,
    exp=None,
    jti=None,
    headers=None,
    **claims,
):
    now = int(time.time())
    payload = {
        "iss": iss,
        "aud": aud,
        "iat": now if iat is None else iat,
        "exp": now + 300 if exp is None else exp,
        "jti": jti or str(uuid.uuid4()),
        **claims,
    }
    header = {"kid": kid, "typ": "JWT", **(headers or {})}
    return jwt.encode(payload, key, algorithm=alg, headers=header)


@pytest.fixture
def sign(ec_key):
    def signer(**kwargs):
        return make_token(ec_key, **kwargs)

    return signer


def hook_body(prefetch=None, **extra):
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"patientId": "p1", "userId": "Practitioner/7"},
        **extra,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def full_prefetch():
    return {
        "patient": patient_resource(),
        "echoObservations": searchset(*echo_observations()),
        "conditions": searchset(condition("409712001", "Mitral valve prolapse")),
        "height": searchset(observation("8302-2", 165, "cm")),
        "weight": searchset(observation("29463-7", 68.5, "kg")),
    }


@pytest.fixture
def call_hook(client, cds_client, sign):
    def call(body, token=None, url="/cds-services/mr-cds-patient-view", **headers):
        token = token or sign()
        return client.post(
            url,
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            **headers,
        )

    return call
