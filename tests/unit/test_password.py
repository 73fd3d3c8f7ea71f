"""GetRandomPassword: options, defaults, guarantees and AWS's errors."""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Sequence

import pytest

from strongroom.errors import InvalidParameterException
from strongroom.secrets import password as pw
from strongroom.secrets.password import generate_random_password

LOWER = set(string.ascii_lowercase)
UPPER = set(string.ascii_uppercase)
DIGITS = set(string.digits)
PUNCT = set(pw.PUNCTUATION)
ALL_DEFAULT = LOWER | UPPER | DIGITS | PUNCT


def test_punctuation_is_the_documented_set() -> None:
    # The API reference lists: ! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ ` { | } ~
    documented = "! \" # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~".split(" ")
    assert list(pw.PUNCTUATION) == documented
    assert len(pw.PUNCTUATION) == 32
    assert pw.PUNCTUATION == string.punctuation


def test_defaults_length_32_all_four_types() -> None:
    for _ in range(200):
        p = generate_random_password({})
        assert len(p) == 32
        assert set(p) <= ALL_DEFAULT
        assert " " not in p
        # RequireEachIncludedType defaults to true.
        assert set(p) & LOWER and set(p) & UPPER and set(p) & DIGITS and set(p) & PUNCT


def test_none_values_mean_absent() -> None:
    p = generate_random_password({"PasswordLength": None, "ExcludeCharacters": None, "IncludeSpace": None})
    assert len(p) == 32


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 17, 32, 100, 4096])
def test_lengths(length: int) -> None:
    params = {"PasswordLength": length, "RequireEachIncludedType": length >= 4}
    assert len(generate_random_password(params)) == length


@pytest.mark.parametrize(
    ("switch", "banned"),
    [
        ("ExcludeLowercase", LOWER),
        ("ExcludeUppercase", UPPER),
        ("ExcludeNumbers", DIGITS),
        ("ExcludePunctuation", PUNCT),
    ],
)
def test_exclude_switches(switch: str, banned: set[str]) -> None:
    for _ in range(100):
        p = generate_random_password({switch: True, "PasswordLength": 64})
        assert not set(p) & banned
        assert set(p) <= ALL_DEFAULT - banned
        # The other three types are still each required.
        for kind in (LOWER, UPPER, DIGITS, PUNCT):
            if kind is not banned:
                assert set(p) & kind


def test_exclude_switches_false_is_default() -> None:
    p = generate_random_password(
        {
            "ExcludeLowercase": False,
            "ExcludeUppercase": False,
            "ExcludeNumbers": False,
            "ExcludePunctuation": False,
        }
    )
    assert set(p) & LOWER and set(p) & UPPER and set(p) & DIGITS and set(p) & PUNCT


def test_only_one_type_left() -> None:
    p = generate_random_password(
        {
            "ExcludeLowercase": True,
            "ExcludeUppercase": True,
            "ExcludePunctuation": True,
            "PasswordLength": 200,
        }
    )
    assert set(p) <= DIGITS and len(p) == 200


def test_exclude_characters_never_appear() -> None:
    # Recorded against AWS by LocalStack (test_get_random_exclude_characters_and_symbols).
    banned = "xyzDje@?!."
    for _ in range(200):
        p = generate_random_password({"PasswordLength": 120, "ExcludeCharacters": banned})
        assert len(p) == 120
        assert not set(p) & set(banned)


def test_exclude_characters_with_regex_metacharacters() -> None:
    banned = "^$.*+?()[]{}|\\-"
    for _ in range(100):
        p = generate_random_password({"PasswordLength": 200, "ExcludeCharacters": banned})
        assert not set(p) & set(banned)


def test_exclude_characters_outside_the_sets_is_harmless() -> None:
    p = generate_random_password({"ExcludeCharacters": "é€\t\n日"})
    assert len(p) == 32 and set(p) <= ALL_DEFAULT


def test_include_space_admits_space_but_never_requires_it() -> None:
    seen_space = False
    for _ in range(300):
        p = generate_random_password({"IncludeSpace": True, "PasswordLength": 64})
        assert set(p) <= ALL_DEFAULT | {" "}
        seen_space = seen_space or " " in p
    assert seen_space  # 300*64 draws from a 95-char pool: missing space has p ~ e^-200
    # Space is not a required type: four types still fit in length 4.
    for _ in range(200):
        p = generate_random_password({"IncludeSpace": True, "PasswordLength": 4})
        assert set(p) & LOWER and set(p) & UPPER and set(p) & DIGITS and set(p) & PUNCT


def test_include_space_respects_exclude_characters() -> None:
    for _ in range(100):
        p = generate_random_password({"IncludeSpace": True, "ExcludeCharacters": " ", "PasswordLength": 200})
        assert " " not in p


def test_only_space_left() -> None:
    p = generate_random_password(
        {
            "ExcludeLowercase": True,
            "ExcludeUppercase": True,
            "ExcludeNumbers": True,
            "ExcludePunctuation": True,
            "IncludeSpace": True,
            "PasswordLength": 7,
        }
    )
    assert p == " " * 7


def test_require_each_included_type_over_many_samples() -> None:
    # Length 4 with four types: every password is a permutation of one char of each type.
    for _ in range(2000):
        p = generate_random_password({"PasswordLength": 4})
        assert len(set(p) & LOWER) == 1
        assert len(set(p) & UPPER) == 1
        assert len(set(p) & DIGITS) == 1
        assert len(set(p) & PUNCT) == 1


def test_require_each_with_exclusions_over_many_samples() -> None:
    for _ in range(2000):
        p = generate_random_password(
            {"PasswordLength": 3, "ExcludePunctuation": True, "ExcludeCharacters": "aeiouAEIOU013"}
        )
        assert set(p) & LOWER and set(p) & UPPER and set(p) & DIGITS
        assert not set(p) & set("aeiouAEIOU013")


def test_required_characters_land_in_every_position() -> None:
    # The shuffle must move the required characters around: with length 4 the digit must be
    # seen at every index.
    positions: Counter[int] = Counter()
    for _ in range(800):
        p = generate_random_password({"PasswordLength": 4})
        positions[next(i for i, c in enumerate(p) if c in DIGITS)] += 1
    assert set(positions) == {0, 1, 2, 3}


def test_require_each_false_allows_missing_types() -> None:
    # With one-character passwords, a type other than lowercase must turn up.
    kinds = set()
    for _ in range(400):
        p = generate_random_password({"PasswordLength": 1, "RequireEachIncludedType": False})
        assert len(p) == 1 and p in ALL_DEFAULT
        kinds.add(next(k for k, s in (("l", LOWER), ("u", UPPER), ("d", DIGITS), ("p", PUNCT)) if p in s))
    assert kinds == {"l", "u", "d", "p"}


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 3])
def test_too_short_for_required_types(length: int) -> None:
    with pytest.raises(InvalidParameterException) as exc:
        generate_random_password({"PasswordLength": length})
    assert exc.value.message == "Password length is too short based on the required types."
    assert exc.value.body() == {
        "__type": "InvalidParameterException",
        "Message": "Password length is too short based on the required types.",
    }


def test_too_short_counts_only_included_types() -> None:
    p = generate_random_password({"PasswordLength": 2, "ExcludeNumbers": True, "ExcludePunctuation": True})
    assert len(p) == 2 and set(p) & LOWER and set(p) & UPPER
    with pytest.raises(InvalidParameterException):
        generate_random_password({"PasswordLength": 2, "ExcludeNumbers": True})


def test_all_excluded_by_switches() -> None:
    with pytest.raises(InvalidParameterException) as exc:
        generate_random_password(
            {
                "ExcludeLowercase": True,
                "ExcludeUppercase": True,
                "ExcludeNumbers": True,
                "ExcludePunctuation": True,
            }
        )
    assert exc.value.message == "All characters have been excluded from selection."


def test_all_excluded_by_characters_without_require_each() -> None:
    everything = "".join(sorted(ALL_DEFAULT)) + " "
    with pytest.raises(InvalidParameterException) as exc:
        generate_random_password(
            {"ExcludeCharacters": everything, "IncludeSpace": True, "RequireEachIncludedType": False}
        )
    assert exc.value.message == "All characters have been excluded from selection."


def test_required_type_emptied_by_exclude_characters() -> None:
    with pytest.raises(InvalidParameterException) as exc:
        generate_random_password({"ExcludeCharacters": pw.PUNCTUATION})
    assert exc.value.message == "All characters of the desired type have been excluded."


def test_type_emptied_is_fine_without_require_each() -> None:
    for _ in range(50):
        p = generate_random_password(
            {"ExcludeCharacters": pw.PUNCTUATION, "RequireEachIncludedType": False, "PasswordLength": 50}
        )
        assert not set(p) & PUNCT


def test_type_emptied_but_switched_off_is_fine() -> None:
    p = generate_random_password({"ExcludeCharacters": pw.PUNCTUATION, "ExcludePunctuation": True})
    assert len(p) == 32 and not set(p) & PUNCT


def test_bad_types_are_programming_errors() -> None:
    with pytest.raises(TypeError):
        generate_random_password({"PasswordLength": "32"})
    with pytest.raises(TypeError):
        generate_random_password({"ExcludeNumbers": "true"})
    with pytest.raises(TypeError):
        generate_random_password({"ExcludeCharacters": 5})


# --- distribution -----------------------------------------------------------------------


def test_uniform_with_a_seeded_generator() -> None:
    # The draw goes through choice(); with a seeded (non-crypto) Random it is repeatable, so a
    # tight chi-square bound can be asserted without any chance of flaking.
    rng = random.Random(20171017)
    params = {"PasswordLength": 4096, "RequireEachIncludedType": False}
    counts: Counter[str] = Counter()
    for _ in range(25):
        counts.update(generate_random_password(params, rng=rng))
    n = sum(counts.values())
    assert set(counts) == ALL_DEFAULT
    expected = n / len(ALL_DEFAULT)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in ALL_DEFAULT)
    # 93 degrees of freedom: mean 93, the 99.9th percentile is about 139.
    assert chi2 < 139, chi2


def test_uses_choice_and_shuffle_of_the_given_source() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.choices: list[Sequence[str]] = []
            self.shuffled = 0

        def choice(self, seq: Sequence[str], /) -> str:
            self.choices.append(seq)
            return seq[0]

        def shuffle(self, x: list[str], /) -> None:
            self.shuffled += 1
            x.reverse()

    rec = Recorder()
    p = generate_random_password({"PasswordLength": 6}, rng=rec)
    # One draw from each type, then two from the whole pool, then one shuffle.
    assert rec.choices[:4] == [pw.LOWERCASE, pw.UPPERCASE, pw.NUMBERS, pw.PUNCTUATION]
    assert rec.choices[4:] == [pw.LOWERCASE + pw.UPPERCASE + pw.NUMBERS + pw.PUNCTUATION] * 2
    assert rec.shuffled == 1
    assert p == "aa!0Aa"

    rec = Recorder()
    generate_random_password({"PasswordLength": 6, "RequireEachIncludedType": False}, rng=rec)
    assert rec.shuffled == 0 and len(rec.choices) == 6


def test_default_source_is_the_system_csprng() -> None:
    import secrets

    assert isinstance(pw._SYSTEM_RANDOM, secrets.SystemRandom)


def test_rough_uniformity_with_the_csprng() -> None:
    # ~400k draws over 94 characters: expected ~4250 each. A character outside [0.75x, 1.25x]
    # is a > 16-sigma event; this cannot flake but catches a broken or biased pool.
    counts: Counter[str] = Counter()
    params = {"PasswordLength": 4096, "RequireEachIncludedType": False}
    for _ in range(100):
        counts.update(generate_random_password(params))
    expected = sum(counts.values()) / len(ALL_DEFAULT)
    assert set(counts) == ALL_DEFAULT
    for c in ALL_DEFAULT:
        assert 0.75 * expected < counts[c] < 1.25 * expected, (c, counts[c], expected)
