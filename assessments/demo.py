"""Demo data for ``manage.py seed_demo``: two care sites, a few patients each, with
encounters and stored assessments. Idempotent: a second run changes nothing."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from .audit import audit_record
from .choices import INTEGRATIONS_GROUP, AuditAction, AuditChannel, Role
from .inputs import assessment_input
from .models import Encounter, Membership, Organization, Patient
from .services import assessment_create

DEFAULT_PASSWORD = "mr-cds-demo"  # noqa: S105 - documented demo password (CONTRACT §3)
ORGANIZATIONS = ("Riverside Heart Clinic", "Northgate Cardiology")
EDITORS_GROUP = "guideline editors"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    organization: int | None = None  # index into ORGANIZATIONS
    role: str = Role.CLINICIAN
    group: str = ""
    is_staff: bool = False


USERS = (
    DemoUser("demo-clinician", "Dana", "Reyes", organization=0),
    DemoUser("demo-clinician-2", "Sam", "Okafor", organization=1),
    DemoUser("demo-editor", "Grace", "Lind", group=EDITORS_GROUP, is_staff=True),
    DemoUser(
        "demo-ehr",
        "EHR",
        "Integration",
        organization=0,
        role=Role.API_CLIENT,
        group=INTEGRATIONS_GROUP,
    ),
)


@dataclass(frozen=True)
class DemoPatient:
    organization: int
    mrn: str
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str
    height_cm: str
    weight_kg: str
    occurred_at: dt.datetime
    assessment: dict[str, Any]
    setting: str = "outpatient"
    presentation: str = "chronic"


def _at(year, month, day, hour=10):
    return dt.datetime(year, month, day, hour, 0, tzinfo=dt.UTC)


PATIENTS = (
    DemoPatient(
        0,
        "RHC-1001",
        "Margaret",
        "Holloway",
        dt.date(1956, 4, 12),
        "female",
        "162",
        "61",
        _at(2025, 2, 3),
        {
            "etiology": "degenerative_prolapse",
            "symptoms": {"nyha_class": 1},
            "risk_factors": {"mitral_valve_prolapse": True},
            "echo": {
                "modality": "tte",
                "image_quality": "adequate",
                "eroa_cm2": 0.45,
                "regurgitant_volume_ml": 68,
                "regurgitant_fraction_pct": 54,
                "vena_contracta_cm": 0.75,
                "jet_type": "eccentric_wall_impinging",
                "flow_convergence": "large",
                "cw_jet": "dense_holosystolic_triangular",
                "pulmonary_vein_flow": "systolic_blunting",
                "leaflet_lesion": "moderate",
                "lvef_pct": 64,
                "lvesd_mm": 36,
                "lvedd_mm": 55,
                "la_volume_index_ml_m2": 52,
                "pasp_mmhg": 38,
            },
            "management": {
                "surgical_risk": "low",
                "repair_likelihood": "high",
                "valve_center": True,
                "life_expectancy_over_1y": True,
            },
            "prior_echos": [{"months_ago": 12, "lvef_pct": 66, "lvesd_mm": 34}],
        },
    ),
    DemoPatient(
        0,
        "RHC-1002",
        "Thomas",
        "Becker",
        dt.date(1949, 9, 30),
        "male",
        "178",
        "84",
        _at(2025, 3, 17),
        {
            "etiology": "flail_leaflet",
            "symptoms": {"nyha_class": 2, "dyspnea": True, "fatigue": True},
            "ecg": {"rhythm": "sinus"},
            "echo": {
                "modality": "tte",
                "eroa_cm2": 0.52,
                "regurgitant_volume_ml": 75,
                "regurgitant_fraction_pct": 58,
                "vena_contracta_cm": 0.8,
                "flail_leaflet": True,
                "leaflet_lesion": "severe",
                "lvef_pct": 57,
                "lvesd_mm": 42,
                "lvedd_mm": 63,
                "la_volume_index_ml_m2": 61,
                "pasp_mmhg": 52,
            },
            "management": {
                "surgical_risk": "intermediate",
                "sts_prom_pct": 3.2,
                "repair_likelihood": "high",
            },
            "prior_echos": [
                {"months_ago": 18, "lvef_pct": 63, "lvesd_mm": 37},
                {"months_ago": 6, "lvef_pct": 60, "lvesd_mm": 40},
            ],
        },
    ),
    DemoPatient(
        0,
        "RHC-1003",
        "Aisha",
        "Karimi",
        dt.date(1962, 1, 8),
        "female",
        "158",
        "72",
        _at(2025, 4, 2),
        {
            "etiology": "secondary_ischemic",
            "symptoms": {"nyha_class": 3, "dyspnea": True, "orthopnea": True},
            "risk_factors": {"prior_myocardial_infarction": True, "hypertension": True},
            "labs": {"nt_probnp_pg_ml": 2450, "egfr_ml_min_1_73m2": 58},
            "echo": {
                "eroa_cm2": 0.32,
                "regurgitant_volume_ml": 47,
                "regurgitant_fraction_pct": 51,
                "elliptical_orifice": True,
                "lvef_pct": 31,
                "lvesd_mm": 54,
                "lvedd_mm": 67,
                "tenting_area_cm2_m2": 1.4,
                "pasp_mmhg": 48,
            },
            "management": {
                "gdmt_optimized": True,
                "months_on_gdmt": 5,
                "heart_failure_phenotype": "hfref",
                "hf_hospitalizations_12m": 2,
                "teer_anatomy": "suitable",
                "surgical_risk": "high",
            },
        },
    ),
    DemoPatient(
        0,
        "RHC-1004",
        "Peter",
        "Lindqvist",
        dt.date(1971, 11, 22),
        "male",
        "183",
        "90",
        _at(2025, 5, 14),
        {
            "etiology": "degenerative_prolapse",
            "echo": {
                "eroa_cm2": 0.24,
                "regurgitant_volume_ml": 38,
                "regurgitant_fraction_pct": 36,
                "vena_contracta_cm": 0.5,
                "jet_area_pct_la": 30,
                "lvef_pct": 63,
                "lvesd_mm": 33,
                "lvedd_mm": 52,
            },
        },
    ),
    DemoPatient(
        1,
        "NGC-2001",
        "Helen",
        "Marsh",
        dt.date(1944, 7, 3),
        "female",
        "155",
        "58",
        _at(2025, 2, 20),
        {
            "etiology": "secondary_atrial",
            "symptoms": {"nyha_class": 2, "palpitations": True},
            "ecg": {"rhythm": "atrial_fibrillation", "af_pattern": "persistent"},
            "echo": {
                "eroa_cm2": 0.3,
                "regurgitant_volume_ml": 44,
                "regurgitant_fraction_pct": 45,
                "lvef_pct": 58,
                "lvesd_mm": 34,
                "lvedd_mm": 50,
                "la_volume_index_ml_m2": 78,
                "mitral_annulus_ap_mm": 41,
                "tr_grade": "moderate",
            },
            "management": {
                "heart_failure_phenotype": "hfpef",
                "af_secondary_to_mr": False,
            },
        },
    ),
    DemoPatient(
        1,
        "NGC-2002",
        "Robert",
        "Nakamura",
        dt.date(1958, 3, 19),
        "male",
        "175",
        "79",
        _at(2025, 6, 1, 3),
        setting="emergency",
        presentation="acute",
        assessment={
            "etiology": "papillary_muscle_rupture",
            "hemodynamics": {
                "cardiogenic_shock": True,
                "pulmonary_edema": True,
                "hypotension": True,
            },
            "risk_factors": {"prior_myocardial_infarction": True},
            "echo": {
                "modality": "tee",
                "leaflet_lesion": "severe",
                "flail_leaflet": True,
                "lvef_pct": 60,
                "lvesd_mm": 32,
                "lvedd_mm": 49,
            },
        },
    ),
    DemoPatient(
        1,
        "NGC-2003",
        "Sofia",
        "Alvarez",
        dt.date(1990, 12, 5),
        "female",
        "168",
        "63",
        _at(2025, 7, 9),
        {
            "etiology": "structurally_normal",
            "patient": {"pregnancy_planned": True},
            "echo": {
                "eroa_cm2": 0.05,
                "vena_contracta_cm": 0.2,
                "jet_area_pct_la": 8,
                "lvef_pct": 62,
                "lvesd_mm": 30,
                "lvedd_mm": 46,
            },
        },
    ),
)


@transaction.atomic
def demo_seed(*, password: str) -> dict[str, int]:
    """Create what is missing of the demo data set; return counts of what was created."""
    created = {"organizations": 0, "users": 0, "patients": 0, "assessments": 0}
    organizations = []
    for name in ORGANIZATIONS:
        organization, new = Organization.objects.get_or_create(name=name)
        organizations.append(organization)
        created["organizations"] += new
    editors, _ = Group.objects.get_or_create(name=EDITORS_GROUP)
    editors.permissions.add(
        *Permission.objects.filter(content_type__app_label="guidelines")
    )
    Group.objects.get_or_create(name=INTEGRATIONS_GROUP)

    users = {}
    for spec in USERS:
        user, new = _user(spec, password)
        users[spec.username] = user
        created["users"] += new
        if spec.organization is not None:
            Membership.objects.get_or_create(
                user=user,
                organization=organizations[spec.organization],
                defaults={"role": spec.role},
            )
    clinicians = [users["demo-clinician"], users["demo-clinician-2"]]

    for spec in PATIENTS:
        patient, new = Patient.objects.get_or_create(
            organization=organizations[spec.organization],
            mrn=spec.mrn,
            defaults={
                "given_name": spec.given_name,
                "family_name": spec.family_name,
                "birth_date": spec.birth_date,
                "sex": spec.sex,
                "height_cm": Decimal(spec.height_cm),
                "weight_kg": Decimal(spec.weight_kg),
            },
        )
        created["patients"] += new
        encounter, _ = Encounter.objects.get_or_create(
            patient=patient,
            occurred_at=spec.occurred_at,
            defaults={
                "clinician": clinicians[spec.organization],
                "setting": spec.setting,
                "presentation": spec.presentation,
            },
        )
        if not encounter.assessments.exists():
            assessment = assessment_create(
                data=assessment_input(encounter=encounter, data=spec.assessment),
                author=encounter.clinician,
            )
            audit_record(
                user=None,
                action=AuditAction.CREATE,
                channel=AuditChannel.COMMAND,
                obj=assessment,
                detail="seed_demo",
            )
            created["assessments"] += 1
    return created


def _user(spec: DemoUser, password: str):
    user, new = get_user_model().objects.get_or_create(
        username=spec.username,
        defaults={
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "is_staff": spec.is_staff,
        },
    )
    if new or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    if spec.group:
        user.groups.add(Group.objects.get(name=spec.group))
    return user, new
