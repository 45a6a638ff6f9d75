"""The property tier: hypothesis throws generated input at the parsers and validators that
face the outside (bodies, query strings, usernames, text) and checks that each answers with
a result or a 400, never another exception. Every property is bounded (``BOUNDED``) so the
tier takes seconds; the handler-level properties share one moto world."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.support import create_catalogue, create_table, fresh_models

#: A few seconds per property on the shared 2-core machines; no deadline (the first example
#: pays for imports and moto, which says nothing about the code under test).
BOUNDED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Characters that break naive text handling: controls, line ends, NUL, lone surrogates,
#: combining marks, compatibility forms (ligature, full-width, Kelvin sign), case oddities.
TRICKY = list("\x00\t\n\r\x0b\x1b\x7f\x85\x9f\u0301\u0345\u200b\u2028\ufeffﬁａＡßẞİıK\u212aǄ\ud800\udbff\udc00\udfff")

#: Any character, surrogates included (hypothesis leaves those out unless asked).
any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(TRICKY))
any_text = st.text(any_char, max_size=40)
#: Text made mostly of JSON's own punctuation, which reaches deeper into a parser than noise.
JSONISH = '[]{}",:\\ -+.0123456789eEtrufalsnNIy' + string.ascii_letters[:6]
jsonish_text = st.text(st.one_of(st.sampled_from(JSONISH), any_char), max_size=80)


@pytest.fixture(scope="package")
def moto_world():
    """One moto with the table (empty) and the default catalogue for the whole tier: the
    handler-level properties only read."""
    with mock_aws():
        create_table()
        create_catalogue()
        with fresh_models():
            yield
