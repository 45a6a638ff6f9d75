"""Small, fast validators (pydantic would add 200-300 ms to every cold start).

Text rules (docs/security.md): no text value may hold a control character (C0, DEL, C1;
newline and tab only where a field is multi-line) or an unpaired surrogate; text is kept in
Unicode NFC, so one spelling is stored for what looks the same. JSON from outside is parsed
by ``json_document``, which bounds nesting and numbers and refuses duplicate keys, NaN and
Infinity, so a hostile document is a 400 and never an exception of another kind.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from itertools import accumulate
from typing import Any

from skills_ideas.errors import BadRequest

#: Characters no single-line text may hold: C0 controls, DEL, C1 controls, lone surrogates
#: (a Python string holds a surrogate code point only when it is unpaired: JSON's paired
#: ``\\ud83d\\ude00`` escapes decode to one character).
SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The same, but newline and tab are allowed (descriptions).
MULTI_LINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: Secrets (passwords) may hold any character but NUL and lone surrogates.
SECRET = re.compile(r"[\x00\ud800-\udfff]")

#: Deepest nesting of arrays and objects a JSON document may have.
MAX_DEPTH = 32
#: Most digits of an integer (Python refuses over 4,300, and converting them is quadratic).
MAX_INTEGER_DIGITS = 100


def refuse_forbidden(value: str, name: str, pattern: re.Pattern[str] = SINGLE_LINE) -> None:
    """A 400 naming ``name`` (and the character) when ``value`` holds one ``pattern`` forbids."""
    found = pattern.search(value)
    if found is None:
        return
    char = found.group()
    kind = "unpaired surrogate characters" if "\ud800" <= char <= "\udfff" else "control characters"
    raise BadRequest(f"{name} must not contain {kind} (found U+{ord(char):04X})")


def clean_text(value: str, name: str, *, multiline: bool = False) -> str:
    """``value`` in NFC, after refusing what no text may hold. Multi-line text may use CRLF
    line ends (Windows clients); they are stored as LF, and any other CR is refused."""
    if multiline:
        value = value.replace("\r\n", "\n")
    refuse_forbidden(value, name, MULTI_LINE if multiline else SINGLE_LINE)
    return unicodedata.normalize("NFC", value)


def caseless(value: str) -> str:
    """The NFKC case fold of ``value``: one form for every spelling of a name that reads the
    same (``ada``, ``ADA``, full-width ``ａｄａ``; ``Straße`` and ``STRASSE``). Idempotent."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def shown(value: str, limit: int = 40) -> str:
    """``value`` fit to quote in a message: control characters and surrogates escaped, and
    cut to ``limit`` characters."""
    cut = SINGLE_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", value[:limit])
    return cut + ("…" if len(value) > limit else "")


# ---------------------------------------------------------------- JSON from outside
class _Refused(Exception):
    """Raised by the parser hooks; ``json_document`` turns it into a 400. ``template`` names
    the document as ``{What}``/``{what}`` and the offending literal or key as ``{detail}``."""

    def __init__(self, template: str, detail: str = "") -> None:
        super().__init__(template)
        self.template = template
        self.detail = detail


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused("Duplicate key '{detail}' in {what}", key)
        result[key] = value
    return result


def _constant(literal: str) -> Any:
    raise _Refused("{What} must be valid JSON ({detail} is not a JSON number)", literal)


def _integer(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"{{What}} contains a number that is too large (over {MAX_INTEGER_DIGITS} digits)")
    return int(literal)


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused("{What} contains a number that is too large")
    return value


_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in a JSON text, found without parsing it: in
    linear time, with no recursion. Escaped backslashes and quotes are dropped first, so the
    quotes left delimit strings, whose contents are then dropped. For invalid JSON the
    answer is at least the depth a parser reaches before it finds the error."""
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    structure = _NOT_BRACKET.sub("", "".join(unescaped.split('"')[::2]))
    return max(accumulate(map(_STEP.__getitem__, structure)), default=0)


def json_document(text: str, what: str) -> Any:
    """Parse ``text`` (JSON from outside: a request body, a cursor), or a 400 whose message
    names ``what`` ("request body") and says what is wrong with it."""
    label = what[:1].upper() + what[1:]
    if nesting_depth(text) > MAX_DEPTH:
        raise BadRequest(f"{label} is nested too deeply (at most {MAX_DEPTH} levels)")
    try:
        return json.loads(
            text, object_pairs_hook=_object, parse_constant=_constant, parse_int=_integer, parse_float=_float
        )
    except _Refused as refused:
        message = refused.template.format(What=label, what=what, detail=shown(refused.detail))
        raise BadRequest(message) from None
    except (ValueError, RecursionError):  # RecursionError: cannot happen after the depth check
        raise BadRequest(f"{label} must be valid JSON") from None


# ---------------------------------------------------------------- fields of a JSON object
def optional_string(
    body: dict[str, Any], field: str, *, max_length: int, label: str | None = None, multiline: bool = False
) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    name = label or field.capitalize()
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    value = clean_text(value, name, multiline=multiline)
    if len(value) > max_length:
        raise BadRequest(f"{name} must be at most {max_length} characters")
    return value


def text(
    body: dict[str, Any],
    field: str,
    *,
    max_length: int,
    required: bool,
    label: str | None = None,
    multiline: bool = False,
) -> str:
    """A trimmed string field; blank counts as missing ("" when optional)."""
    name = label or field.capitalize()
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRequest(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    value = clean_text(value, name, multiline=multiline).strip()
    if len(value) > max_length:
        raise BadRequest(f"{name} must be at most {max_length} characters")
    return value


def bounded_int(raw: str | None, *, name: str, default: int, minimum: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}")
    return value


def choice(raw: str, allowed: tuple[str, ...], *, name: str) -> str:
    """Case-insensitive match against ``allowed``; returns the canonical spelling."""
    refuse_forbidden(raw, name)
    for option in allowed:
        if option.lower() == raw.strip().lower():
            return option
    raise BadRequest(f"{name} must be one of: {', '.join(allowed)}")


def reject_unknown(body: dict[str, Any], allowed: set[str], ignored: frozenset[str] = frozenset()) -> None:
    unknown = sorted(set(body) - allowed - ignored)
    if unknown:
        listed = ", ".join(shown(name) for name in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        raise BadRequest(f"Unknown field(s): {listed}")
