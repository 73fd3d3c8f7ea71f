"""ListSecrets / BatchGetSecretValue ``Filters``: AWS's matching rules, compiled once per request.

The rules, with where each comes from:

* ``name``, ``tag-key``, ``tag-value``, ``primary-region``: prefix match of the raw value,
  case-sensitive; no word splitting (a ``name`` value ``"testing1 one"`` matches nothing, ``"/"``
  matches names starting with ``/``). API reference, Filter.Key
  (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html); user guide
  examples "Name: Data returns DatabaseSecret, not databaseSecret or MyData", "Tag key: Prod
  returns Production and Prod1, not prod or 1 Prod"
  (https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_search-secret.html);
  recorded against AWS in localstack/localstack tests/aws/services/secretsmanager/
  test_secretsmanager.py::test_list_secrets_filtering.
* ``owning-service``: prefix match, not case-sensitive ("my-ser" matches services "my-serv" and
  "my-service"): the current user guide, which is more specific than the API reference's one line.
* ``description``: not a prefix of the whole text but a word match, not case-sensitive: the value
  is split into words and every word must begin a word of the description ("My Description"
  matches "Description of my secret"; "a" matches "a secret", "an secret", "asecret" but not
  "thesecret"; "a secret" does not match "asecret"). User guide; verified against AWS in
  getmoto/moto#8469 (tests/test_secretsmanager/test_list_secrets.py) and in the LocalStack test.
* ``all``: the same word match against each of the name, the description, every tag key and
  every tag value; all the words of one value must match within the same field (AWS's launch
  post, quoted in getmoto/moto#3173: "includes both 'secrets' and 'for' in the same field").
  A value with no word in it (``"+"``) matches nothing (moto, verified against AWS).
* Words (user guide): special characters are ignored; a word ends at any character that is not
  a letter or a digit, at a change from lowercase to uppercase (``credsDatabase`` -> ``creds``,
  ``Database``), before the last capital of a run of capitals followed by lowercase
  (``COMPANYthings`` -> ``COMPAN``, ``Ythings``: verified against AWS in moto#8469), and at a
  change from letter to digit. Comparison is on lowercased words; a pattern word matches a
  field word it is a prefix of (``sec`` matches ``Secret``, ``ret`` does not).
* ``!`` before a value negates it: ``"!/"`` on ``name`` matches exactly the names not starting
  with ``/``; ``"!a"`` on ``description`` matches descriptions with no word starting with ``a``
  (both recorded against AWS in the LocalStack test). A negated value is the logical NOT of the
  same value without ``!``, so a secret with no description or no tags matches it.
* The values of one filter combine with OR, negated ones included (moto's model,
  tests/test_secretsmanager/test_list_secrets.py::test_with_filter_with_negation); filters
  combine with AND, also when two filters share a key (verified in moto's
  test_with_duplicate_filter_keys). So all-negated values ``["!a", "!b"]`` match a secret
  lacking ``a`` or lacking ``b``.

Validation here is the semantic part; the model (enum of keys, 1-10 values of at most 512
characters from ``[a-zA-Z0-9 :_@/+=.-!]``, at most 10 filters) is checked before. Messages are
moto's (moto/secretsmanager/responses.py, ``_validate_filters``): a filter without ``Key`` gets
``InvalidParameterException: Invalid filter key``; one without ``Values`` gets
``InvalidParameterException: Invalid filter values for key: <key>``.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from strongroom.errors import InvalidParameterException, ValidationException

__all__ = [
    "FILTER_KEYS",
    "FilterSubject",
    "NamePrefixHint",
    "compile_filters",
    "index_hint",
    "split_words",
]

#: The model's FilterNameStringType enum, in the model's order.
FILTER_KEYS = ("description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all")


@dataclass(frozen=True, slots=True)
class FilterSubject:
    """What filters look at; built by the domain layer from a secret (never its value)."""

    name: str
    description: str | None
    tags: Sequence[tuple[str, str]]
    primary_region: str | None
    owning_service: str | None


@dataclass(frozen=True, slots=True)
class NamePrefixHint:
    """Every secret the filters accept has a name starting with one of ``prefixes``.

    Prefixes are compared case-sensitively, by code point. They are non-empty, sorted, and none
    is a prefix of another, so the ranges they cover never overlap.
    """

    prefixes: tuple[str, ...]


Predicate = Callable[[FilterSubject], bool]


def _accept_all(subject: FilterSubject) -> bool:
    return True


def compile_filters(filters: Sequence[Mapping[str, object]] | None) -> Predicate:
    """Return a predicate that is true for the subjects the ``Filters`` select.

    ``None`` or an empty list selects everything. Raises AWS's errors for filters that the
    model accepts but the service refuses.
    """
    if not filters:
        return _accept_all
    compiled = [_compile_filter(key, values) for key, values in _parse(filters)]
    if len(compiled) == 1:
        return compiled[0]

    def all_filters(subject: FilterSubject) -> bool:
        return all(f(subject) for f in compiled)

    return all_filters


def index_hint(filters: Sequence[Mapping[str, object]] | None) -> NamePrefixHint | None:
    """Name prefixes that every subject accepted by ``compile_filters(filters)`` starts with.

    Only a ``name`` filter whose values are all positive constrains the name: since filters
    combine with AND, its OR of prefixes bounds every match. ``None`` means no bound (and is
    also the answer for filters ``compile_filters`` would refuse).
    """
    try:
        parsed = _parse(filters or ())
    except (InvalidParameterException, ValidationException, TypeError):
        return None
    best: tuple[str, ...] | None = None
    for key, values in parsed:
        if key != "name" or any(v.startswith("!") for v in values):
            continue
        prefixes = _minimal_prefixes(values)
        if prefixes is not None and (best is None or len(prefixes) < len(best)):
            best = prefixes
    return None if best is None else NamePrefixHint(best)


def _minimal_prefixes(values: Sequence[str]) -> tuple[str, ...] | None:
    """The values with any value extending another dropped; None if one is empty (no bound)."""
    if "" in values:
        return None
    kept: list[str] = []
    for v in sorted(set(values)):
        # In sorted order, a value's shortest prefix among the set sorts right before its
        # extensions, so comparing with the last kept value is enough.
        if kept and v.startswith(kept[-1]):
            continue
        kept.append(v)
    return tuple(kept)


# --- parsing and validation ------------------------------------------------------------------


def _parse(filters: Sequence[Mapping[str, object]]) -> list[tuple[str, tuple[str, ...]]]:
    parsed = []
    for index, f in enumerate(filters, start=1):
        key = f.get("Key")
        if key is None:
            raise InvalidParameterException("Invalid filter key")
        if not isinstance(key, str):
            raise TypeError(f"filter Key must be a string, got {type(key).__name__}")
        if key not in FILTER_KEYS:
            # The model's enum check runs before this; kept so the function is safe on its own.
            raise ValidationException(
                f"1 validation error detected: Value '{key}' at 'filters.{index}.member.key' failed "
                f"to satisfy constraint: Member must satisfy enum value set: [{', '.join(FILTER_KEYS)}]"
            )
        values = f.get("Values")
        if not values:
            raise InvalidParameterException(f"Invalid filter values for key: {key}")
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise TypeError(f"filter Values must be a list, got {type(values).__name__}")
        for v in values:
            if not isinstance(v, str):
                raise TypeError(f"filter values must be strings, got {type(v).__name__}")
        parsed.append((key, tuple(values)))
    return parsed


# --- matching --------------------------------------------------------------------------------


def _compile_filter(key: str, values: tuple[str, ...]) -> Predicate:
    preds = [_compile_value(key, v) for v in values]
    if len(preds) == 1:
        return preds[0]

    def any_value(subject: FilterSubject) -> bool:
        return any(p(subject) for p in preds)

    return any_value


def _compile_value(key: str, value: str) -> Predicate:
    if value.startswith("!"):
        positive = _compile_term(key, value[1:])

        def negated(subject: FilterSubject) -> bool:
            return not positive(subject)

        return negated
    return _compile_term(key, value)


def _compile_term(key: str, term: str) -> Predicate:
    if key == "name":
        return lambda s: s.name.startswith(term)
    if key == "tag-key":
        return lambda s: any(k.startswith(term) for k, _ in s.tags)
    if key == "tag-value":
        return lambda s: any(v.startswith(term) for _, v in s.tags)
    if key == "primary-region":
        return lambda s: s.primary_region is not None and s.primary_region.startswith(term)
    if key == "owning-service":
        folded = term.lower()
        return lambda s: s.owning_service is not None and s.owning_service.lower().startswith(folded)

    words = tuple(w.lower() for w in split_words(term))
    if not words:
        return lambda s: False
    if key == "description":
        return lambda s: s.description is not None and _words_match(words, s.description)
    assert key == "all", key

    def all_fields(s: FilterSubject) -> bool:
        if _words_match(words, s.name):
            return True
        if s.description is not None and _words_match(words, s.description):
            return True
        return any(_words_match(words, k) or _words_match(words, v) for k, v in s.tags)

    return all_fields


def _words_match(pattern: tuple[str, ...], text: str) -> bool:
    """Every (lowercased) pattern word begins some word of ``text``."""
    field = _lower_words(text)
    return all(any(w.startswith(p) for w in field) for p in pattern)


@functools.lru_cache(maxsize=8192)
def _lower_words(text: str) -> tuple[str, ...]:
    # Names, descriptions and tags recur across every listing; caching their words keeps a
    # filtered scan from re-splitting them. Bounded, and none of them is secret.
    return tuple(w.lower() for w in split_words(text))


_SEP, _UPPER, _LOWER, _DIGIT, _MARK = range(5)


def _char_class(ch: str) -> int:
    if ch.isdigit():
        return _DIGIT
    if ch.isalpha():
        # Caseless letters (CJK, ...) behave like lowercase: they never start a camel-case word.
        return _UPPER if ch.isupper() else _LOWER
    if unicodedata.category(ch).startswith("M"):
        return _MARK  # a combining accent belongs to the letter before it
    return _SEP


def split_words(text: str) -> list[str]:
    """Split ``text`` into the words AWS's search compares (original case kept).

    >>> split_words("credsDatabase#892")
    ['creds', 'Database', '892']
    >>> split_words("uat/COMPANYthings")
    ['uat', 'COMPAN', 'Ythings']
    """
    words: list[str] = []
    cur: list[str] = []
    classes: list[int] = []

    def flush() -> None:
        if cur:
            words.append("".join(cur))
            cur.clear()
            classes.clear()

    for ch in text:
        c = _char_class(ch)
        if c == _SEP:
            flush()
            continue
        if c == _MARK:
            if cur:
                cur[-1] += ch  # keep cur and classes one entry per letter
            continue
        if classes:
            prev = classes[-1]
            if prev == _LOWER and c == _UPPER:
                flush()  # camelCase
            elif prev in (_UPPER, _LOWER) and c == _DIGIT:
                flush()  # letter to number
            elif prev == _UPPER and c == _LOWER and len(classes) >= 2 and classes[-2] == _UPPER:
                last = cur.pop()  # ACRONYMWord: the last capital starts the next word
                classes.pop()
                flush()
                cur.append(last)
                classes.append(_UPPER)
        cur.append(ch)
        classes.append(c)
    flush()
    return words
