"""Every recommendation code the product can give has words for clinicians."""

from guidelines.vocabulary import CONTRACT_CODES, EXTRA_CODES, VALUE_LABELS


def test_every_contract_and_added_code_has_a_label():
    labels = VALUE_LABELS["recommendation"]
    assert set(labels) == set(CONTRACT_CODES) | set(EXTRA_CODES)
    for code, label in labels.items():
        assert "_" not in label, code
        assert label[0].isupper(), code
