"""ListSecrets filters: AWS's matching rules, validation, and the name-prefix index hint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.errors import InvalidParameterException, ValidationException
from strongroom.secrets.filters import (
    FILTER_KEYS,
    FilterSubject,
    NamePrefixHint,
    compile_filters,
    index_hint,
    split_words,
)


def subject(
    name: str,
    description: str | None = None,
    tags: Sequence[tuple[str, str]] = (),
    primary_region: str | None = None,
    owning_service: str | None = None,
) -> FilterSubject:
    return FilterSubject(name, description, tuple(tags), primary_region, owning_service)


def select(filters: Sequence[Mapping[str, object]], subjects: list[FilterSubject]) -> list[str]:
    pred = compile_filters(filters)
    return [s.name for s in subjects if pred(s)]


def matches(s: FilterSubject, key: str, *values: str) -> bool:
    return compile_filters([{"Key": key, "Values": list(values)}])(s)


# --- word splitting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("test", ["test"]),
        ("my test", ["my", "test"]),
        ("Mytest", ["Mytest"]),
        ("MyTest", ["My", "Test"]),
        ("MyTestPhrase", ["My", "Test", "Phrase"]),
        ("myTest", ["my", "Test"]),
        ("my/test", ["my", "test"]),
        ("My_Secret", ["My", "Secret"]),  # user guide example
        ("credsDatabase#892", ["creds", "Database", "892"]),  # user guide example
        ("uat/COMPANY/x1", ["uat", "COMPANY", "x", "1"]),
        ("uat/COMPANYthings", ["uat", "COMPAN", "Ythings"]),  # verified against AWS (moto#8469)
        ("HTTPServer", ["HTTP", "Server"]),
        ("Thirdsecret", ["Thirdsecret"]),
        ("SecretFTag", ["Secret", "F", "Tag"]),
        ("prod+AppBeta+x", ["prod", "App", "Beta", "x"]),
        ("prod-AppBeta/x", ["prod", "App", "Beta", "x"]),
        ("a.b=c@d:e f\tg", ["a", "b", "c", "d", "e", "f", "g"]),
        ("abc123", ["abc", "123"]),  # letter to number
        ("123abc", ["123abc"]),
        ("+", []),
        ("", []),
        ("--//__", []),
        ("日本Data", ["日本", "Data"]),
        ("Cafe\u0301Noir", ["Cafe\u0301", "Noir"]),  # combining accent stays with its letter
        ("ÉCOLEnormale", ["ÉCOL", "Enormale"]),
        ("naïve café", ["naïve", "café"]),
    ],
)
def test_split_words(text: str, words: list[str]) -> None:
    assert split_words(text) == words


# --- per key -----------------------------------------------------------------------------

NAME_CASES = [
    # (name, value, matches) -- prefix match, case-sensitive, no word splitting.
    ("DatabaseSecret", "Data", True),  # user guide example
    ("databaseSecret", "Data", False),
    ("MyData", "Data", False),
    ("/testing2/two", "/", True),  # LocalStack, recorded against AWS
    ("testing1/one", "/", False),
    ("testing1/one-12345", "testing1 one", False),
    ("testing1/one-12345", "testing1/one", True),
    ("prod/app", "prod/app", True),
    ("prod/app", "prod/apps", False),
    ("prod/app", "", True),
    ("x", "X", False),
]


@pytest.mark.parametrize(("name", "value", "expected"), NAME_CASES)
def test_name(name: str, value: str, expected: bool) -> None:
    assert matches(subject(name), "name", value) is expected


@pytest.mark.parametrize(("name", "value", "expected"), NAME_CASES)
def test_name_negated(name: str, value: str, expected: bool) -> None:
    assert matches(subject(name), "name", "!" + value) is (not expected)


TAG_CASES = [
    # user guide: "Tag key: Prod returns Production and Prod1, but not prod or 1 Prod".
    ("Production", "Prod", True),
    ("Prod1", "Prod", True),
    ("prod", "Prod", False),
    ("1 Prod", "Prod", False),
    ("Prod", "Production", False),
    ("aws:cloudformation:stack-name", "aws:cloudformation", True),
]


@pytest.mark.parametrize(("tag", "value", "expected"), TAG_CASES)
def test_tag_key(tag: str, value: str, expected: bool) -> None:
    assert matches(subject("s", tags=[(tag, "zzz")]), "tag-key", value) is expected
    # tag-key never looks at tag values.
    assert matches(subject("s", tags=[("zzz", tag)]), "tag-key", value) is False


@pytest.mark.parametrize(("tag", "value", "expected"), TAG_CASES)
def test_tag_value(tag: str, value: str, expected: bool) -> None:
    assert matches(subject("s", tags=[("zzz", tag)]), "tag-value", value) is expected
    assert matches(subject("s", tags=[(tag, "zzz")]), "tag-value", value) is False


def test_tags_any_of_several() -> None:
    s = subject("s", tags=[("env", "prod"), ("team", "data")])
    assert matches(s, "tag-key", "team")
    assert matches(s, "tag-value", "dat")
    assert not matches(s, "tag-key", "data")
    # A negated tag value: true only when no tag has it.
    assert not matches(s, "tag-value", "!prod")
    assert matches(s, "tag-value", "!staging")


def test_untagged_secret() -> None:
    s = subject("s")
    assert not matches(s, "tag-key", "")
    assert not matches(s, "tag-value", "a")
    assert matches(s, "tag-key", "!env")


DESCRIPTION_CASES = [
    # user guide: "Description: My Description" matches all four of these.
    ("My Description", "My Description", True),
    ("my description", "My Description", True),
    ("My basic description", "My Description", True),
    ("Description of my secret", "My Description", True),
    ("My secret", "My Description", False),
    # LocalStack, recorded against AWS.
    ("a secret", "a", True),
    ("an secret", "a", True),
    ("asecret", "a", True),
    ("thesecret", "a", False),
    ("a secret", "a secret", True),
    ("an secret", "a secret", True),
    ("asecret", "a secret", False),
    ("thesecret", "c", False),
    # moto#8469, verified against AWS.
    ("one two", "one two", True),
    ("one and two", "one two", True),
    ("one", "one two", False),
    ("one two", "o t", True),
    ("one", "t", False),
    ("unrelated", "t", False),
    ("two", "t", True),
    # Words, not substrings, and not case-sensitive.
    ("Conducts an AWS SecretsManager rotation", "conducts", True),
    ("Conducts an AWS SecretsManager rotation", "manager", True),
    ("Conducts an AWS SecretsManager rotation", "ducts", False),
    ("Conducts an AWS SecretsManager rotation", "AWS Rot", True),
    ("CONDUCTS", "conducts", True),
    ("x", "+", False),
    ("Données de production", "donn", True),
    ("Données de production", "prod", True),
]


@pytest.mark.parametrize(("description", "value", "expected"), DESCRIPTION_CASES)
def test_description(description: str, value: str, expected: bool) -> None:
    assert matches(subject("s", description), "description", value) is expected


@pytest.mark.parametrize(("description", "value", "expected"), DESCRIPTION_CASES)
def test_description_negated(description: str, value: str, expected: bool) -> None:
    assert matches(subject("s", description), "description", "!" + value) is (not expected)


def test_description_absent() -> None:
    s = subject("s", None)
    assert not matches(s, "description", "a")
    assert matches(s, "description", "!a")


def test_primary_region() -> None:
    s = subject("s", primary_region="eu-west-1")
    assert matches(s, "primary-region", "eu-west-1")
    assert matches(s, "primary-region", "eu-")
    assert not matches(s, "primary-region", "EU-")
    assert not matches(s, "primary-region", "us-east-1")
    assert matches(s, "primary-region", "!us-")
    unreplicated = subject("s")
    assert not matches(unreplicated, "primary-region", "eu")
    assert matches(unreplicated, "primary-region", "!eu")


def test_owning_service() -> None:
    # user guide: "my-ser matches secrets managed by services with prefix my-serv and my-service";
    # not case-sensitive.
    assert matches(subject("a", owning_service="my-service"), "owning-service", "my-ser")
    assert matches(subject("a", owning_service="my-serv"), "owning-service", "my-ser")
    assert matches(subject("a", owning_service="My-Service"), "owning-service", "my-ser")
    assert matches(subject("a", owning_service="rds"), "owning-service", "RDS")
    assert not matches(subject("a", owning_service="rds"), "owning-service", "secretsmanager")
    assert not matches(subject("a"), "owning-service", "rds")
    assert matches(subject("a"), "owning-service", "!rds")


# --- 'all' -------------------------------------------------------------------------------

U = "a1b2c3"  # a unique suffix, like the AWS-verified tests use
ALL_SUBJECTS = [
    subject(f"SecretOne{U}"),
    subject(f"SecretTwo{U}", "DescTwo"),
    subject(f"Thirdsecret{U}"),
    subject(f"SecretFTag{U}", tags=[("1", "foo")]),
    subject(f"SecretFValue{U}", tags=[("foo", "v")]),
    subject(f"none{U}"),
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # moto tests/test_secretsmanager/test_list_secrets.py::test_with_all_filter (AWS-verified)
        ("SecretOne", [f"SecretOne{U}"]),
        ("foo", [f"SecretFTag{U}", f"SecretFValue{U}"]),
        ("Secret", [f"SecretOne{U}", f"SecretTwo{U}", f"SecretFTag{U}", f"SecretFValue{U}"]),
        ("secret", [f"SecretOne{U}", f"SecretTwo{U}", f"SecretFTag{U}", f"SecretFValue{U}"]),
        ("ret", []),
        ("sec", [f"SecretOne{U}", f"SecretTwo{U}", f"SecretFTag{U}", f"SecretFValue{U}"]),
        ("SomeSecret", []),
        ("d", [f"SecretTwo{U}"]),
        ("d t", [f"SecretTwo{U}"]),
        ("t", [f"SecretTwo{U}", f"Thirdsecret{U}", f"SecretFTag{U}"]),
    ],
)
def test_all_verified_cases(value: str, expected: list[str]) -> None:
    assert select([{"Key": "all", "Values": [value]}], ALL_SUBJECTS) == expected


SPECIAL = [
    subject(f"prod/AppBeta/{U}"),
    subject(f"prod_AppBeta_{U}"),
    subject(f"prod+AppBeta+{U}"),
    subject(f"prod=AppBeta={U}"),
    subject(f"prod.AppBeta.{U}"),
    subject(f"prod@AppBeta@{U}"),
    subject(f"prod-AppBeta-{U}"),
    subject(f"uat/COMPANY/{U}"),
    subject(f"uat/COMPANYthings/{U}"),
]
SEVEN = [s.name for s in SPECIAL[:7]]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # moto ...::test_with_all_filter_special_characters (AWS-verified)
        (["AppBeta"], SEVEN),
        (["Beta"], SEVEN),
        (["AppBeta", "prod"], SEVEN),
        (["+"], []),
        ([U], [s.name for s in SPECIAL]),
        (["company"], [f"uat/COMPANY/{U}"]),
        (["things"], []),
        (["Ythings"], [f"uat/COMPANYthings/{U}"]),
        (["N"], []),
        (["pany"], []),
    ],
)
def test_all_special_characters(values: list[str], expected: list[str]) -> None:
    assert select([{"Key": "all", "Values": values}], SPECIAL) == expected


def test_all_words_must_match_in_the_same_field() -> None:
    s = subject("secrets-store", "for the app", tags=[("team", "secrets for ops")])
    assert matches(s, "all", "secrets for")  # the tag value has both
    split = subject("secrets-store", "for the app")
    assert not matches(split, "all", "secrets for")  # name has one, description the other
    assert matches(split, "all", "!secrets for")


def test_all_searches_every_field_but_region_and_service() -> None:
    s = subject("alpha", "bravo charlie", [("delta", "echo")], "eu-west-1", "rds")
    for word in ("ALPHA", "bravo", "Charlie", "delt", "echo"):
        assert matches(s, "all", word), word
    for word in ("eu", "west", "rds", "lpha"):
        assert not matches(s, "all", word), word


def test_all_is_case_insensitive_on_both_sides() -> None:
    s = subject("MyAppSecret")
    assert matches(s, "all", "myapp") is False  # "myapp" is one word; no field word starts with it
    assert matches(s, "all", "MyApp")  # two words: my, app
    assert matches(s, "all", "APP")
    assert matches(s, "all", "my app")


def test_all_unicode() -> None:
    s = subject("s", "Geheimnis für Ärzte", [("Équipe", "Ŝerĉo")])
    assert matches(s, "all", "für")
    assert matches(s, "all", "ärz")
    assert matches(s, "all", "équipe")
    assert matches(s, "all", "ŝer")
    assert not matches(s, "all", "rzte")


# --- negation, values, filters -----------------------------------------------------------

DESCRIBED = [
    subject("foo", "one two"),
    subject("bar", "one and two"),
    subject("baz", "one"),
    subject("qux", "two"),
    subject("none", "unrelated"),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"Key": "name", "Values": ["foo", "bar"]}], ["foo", "bar"]),  # values: OR
        ([{"Key": "description", "Values": ["one two"]}], ["foo", "bar"]),
        ([{"Key": "description", "Values": ["o t"]}], ["foo", "bar"]),
        ([{"Key": "description", "Values": ["t"]}], ["foo", "bar", "qux"]),
        ([{"Key": "description", "Values": ["!o"]}], ["qux", "none"]),
        # Negated and positive values: OR, each value on its own (moto's model).
        ([{"Key": "description", "Values": ["one", "!two"]}], ["foo", "bar", "baz", "none"]),
        # All values negated: still OR -- lacking "one" or lacking "two".
        ([{"Key": "description", "Values": ["!one", "!two"]}], ["baz", "qux", "none"]),
        # Two filters on the same key: AND (moto test_with_duplicate_filter_keys, AWS-verified).
        (
            [{"Key": "description", "Values": ["one"]}, {"Key": "description", "Values": ["two"]}],
            ["foo", "bar"],
        ),
        ([{"Key": "description", "Values": ["!one"]}, {"Key": "description", "Values": ["!two"]}], ["none"]),
        ([{"Key": "name", "Values": ["b"]}, {"Key": "description", "Values": ["!one"]}], []),
        ([{"Key": "name", "Values": ["b"]}, {"Key": "description", "Values": ["and"]}], ["bar"]),
        ([{"Key": "name", "Values": ["!b"]}, {"Key": "all", "Values": ["two"]}], ["foo", "qux"]),
    ],
)
def test_combinations(filters: list[dict[str, object]], expected: list[str]) -> None:
    assert select(filters, DESCRIBED) == expected


def test_localstack_recorded_combinations() -> None:
    secrets = [
        subject("testing1/one-1", "a secret"),
        subject("/testing2/two-1", "an secret"),
        subject("testing3/three-1", "asecret"),
        subject("/testing4/four-1", "thesecret"),
    ]
    both = [{"Key": "description", "Values": ["a"]}, {"Key": "name", "Values": ["secret"]}]
    assert select(both, secrets) == []
    both = [{"Key": "description", "Values": ["a"]}, {"Key": "name", "Values": ["an"]}]
    assert select(both, secrets) == []
    assert select([{"Key": "name", "Values": ["!/"]}], secrets) == ["testing1/one-1", "testing3/three-1"]
    assert select([{"Key": "description", "Values": ["!c"]}], secrets) == [s.name for s in secrets]


def test_multiple_tag_filters_are_independent() -> None:
    # moto test_with_multiple_filters: key and value filters need not match the same tag.
    secrets = [
        subject("foo", tags=[("right", "right")]),
        subject("bar", tags=[("right", "wrong")]),
        subject("baz", tags=[("wrong", "right")]),
        subject("qux", tags=[("wrong", "wrong")]),
        subject("mix", tags=[("right", "wrong"), ("wrong", "right")]),
    ]
    filters = [{"Key": "tag-key", "Values": ["right"]}, {"Key": "tag-value", "Values": ["right"]}]
    assert select(filters, secrets) == ["foo", "mix"]


def test_double_bang_negates_once() -> None:
    assert matches(subject("x"), "name", "!!x") is True  # NOT (name starts with "!x")


def test_no_filters_accept_everything() -> None:
    assert compile_filters(None)(subject("anything"))
    assert compile_filters([])(subject("anything"))


# --- validation --------------------------------------------------------------------------


def test_missing_key() -> None:
    with pytest.raises(InvalidParameterException) as exc:
        compile_filters([{"Values": ["foo"]}])
    assert exc.value.body() == {"__type": "InvalidParameterException", "Message": "Invalid filter key"}


@pytest.mark.parametrize("values", [None, [], ()])
def test_missing_values(values: object) -> None:
    f: dict[str, object] = {"Key": "description"}
    if values is not None:
        f["Values"] = values
    with pytest.raises(InvalidParameterException) as exc:
        compile_filters([f])
    assert exc.value.message == "Invalid filter values for key: description"


def test_missing_values_in_second_filter() -> None:
    with pytest.raises(InvalidParameterException) as exc:
        compile_filters([{"Key": "name", "Values": ["a"]}, {"Key": "tag-key"}])
    assert exc.value.message == "Invalid filter values for key: tag-key"


def test_unknown_key() -> None:
    with pytest.raises(ValidationException) as exc:
        compile_filters([{"Key": "name", "Values": ["a"]}, {"Key": "invalid", "Values": ["foo"]}])
    assert exc.value.body() == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value 'invalid' at 'filters.2.member.key' failed to "
        "satisfy constraint: Member must satisfy enum value set: "
        "[description, name, tag-key, tag-value, primary-region, owning-service, all]",
    }


def test_filter_keys_match_the_model() -> None:
    import botocore.loaders

    model = botocore.loaders.Loader().load_service_model("secretsmanager", "service-2")
    assert tuple(model["shapes"]["FilterNameStringType"]["enum"]) == FILTER_KEYS


def test_wrong_types_are_programming_errors() -> None:
    with pytest.raises(TypeError):
        compile_filters([{"Key": "name", "Values": "abc"}])
    with pytest.raises(TypeError):
        compile_filters([{"Key": "name", "Values": [1]}])
    with pytest.raises(TypeError):
        compile_filters([{"Key": 1, "Values": ["a"]}])


# --- index hint --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "hint"),
    [
        (None, None),
        ([], None),
        ([{"Key": "name", "Values": ["prod/"]}], ("prod/",)),
        ([{"Key": "name", "Values": ["b", "a", "b"]}], ("a", "b")),
        ([{"Key": "name", "Values": ["prod/app", "prod/", "prod/db"]}], ("prod/",)),
        ([{"Key": "name", "Values": ["ab", "abc", "b", "ba"]}], ("ab", "b")),
        ([{"Key": "name", "Values": ["a", ""]}], None),
        ([{"Key": "name", "Values": ["!prod"]}], None),
        ([{"Key": "name", "Values": ["prod", "!dev"]}], None),
        ([{"Key": "all", "Values": ["prod"]}], None),
        ([{"Key": "description", "Values": ["prod"]}], None),
        ([{"Key": "tag-key", "Values": ["a"]}, {"Key": "name", "Values": ["x/"]}], ("x/",)),
        (
            [{"Key": "name", "Values": ["a", "b", "c"]}, {"Key": "name", "Values": ["ab"]}],
            ("ab",),
        ),
        ([{"Key": "name", "Values": ["!a"]}, {"Key": "name", "Values": ["p", "q"]}], ("p", "q")),
        ([{"Values": ["a"]}], None),  # invalid: no hint, no error
        ([{"Key": "name"}], None),
    ],
)
def test_index_hint(filters: list[dict[str, object]] | None, hint: tuple[str, ...] | None) -> None:
    expected = None if hint is None else NamePrefixHint(hint)
    assert index_hint(filters) == expected


# Values and names from a small alphabet (with case and separators) so prefixes collide often.
_alphabet = st.sampled_from("aAbB/-_ 1.")
_text = st.text(_alphabet, max_size=6)
_value = st.builds(lambda neg, t: ("!" if neg else "") + t, st.booleans(), _text)
_filter = st.fixed_dictionaries(
    {"Key": st.sampled_from(FILTER_KEYS), "Values": st.lists(_value, min_size=1, max_size=4)}
)
_subject = st.builds(
    FilterSubject,
    name=_text,
    description=st.none() | _text,
    tags=st.lists(st.tuples(_text, _text), max_size=3).map(tuple),
    primary_region=st.none() | _text,
    owning_service=st.none() | _text,
)


@settings(max_examples=400, deadline=None)
@given(filters=st.lists(_filter, max_size=4), subjects=st.lists(_subject, min_size=1, max_size=8))
def test_index_hint_never_excludes_a_match(
    filters: list[dict[str, object]], subjects: list[FilterSubject]
) -> None:
    pred = compile_filters(filters)
    hint = index_hint(filters)
    if hint is None:
        return
    assert hint.prefixes == tuple(sorted(hint.prefixes))
    assert all(hint.prefixes)
    for a in hint.prefixes:
        for b in hint.prefixes:
            assert a == b or not b.startswith(a)
    for s in subjects:
        if pred(s):
            assert any(s.name.startswith(p) for p in hint.prefixes), (s, hint)


@settings(max_examples=300, deadline=None)
@given(filters=st.lists(_filter, min_size=1, max_size=3), suffix=_text)
def test_index_hint_on_names_near_the_filter_values(filters: list[dict[str, object]], suffix: str) -> None:
    # Random names rarely start with a random value; build the names that matter on purpose:
    # each value, extended, truncated and with its case flipped.
    pred = compile_filters(filters)
    hint = index_hint(filters)
    terms = {v.lstrip("!") for f in filters for v in f["Values"]}  # type: ignore[attr-defined]
    candidates = {suffix}
    for t in terms:
        candidates |= {t, t + suffix, t[:-1], t.swapcase(), t.swapcase() + suffix}
    for name in candidates:
        for s in (
            FilterSubject(name, None, (), None, None),
            FilterSubject(name, name, ((name, name),), name, name),
        ):
            if pred(s) and hint is not None:
                assert any(name.startswith(p) for p in hint.prefixes), (name, hint, filters)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_text, min_size=1, max_size=6), s=_subject)
def test_negation_is_complement(values: list[str], s: FilterSubject) -> None:
    for key in FILTER_KEYS:
        for v in values:
            assert matches(s, key, v) is not matches(s, key, "!" + v)
