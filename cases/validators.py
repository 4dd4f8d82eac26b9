"""Pure checks for identifiers and postcodes. Each returns a normalised value or raises."""

import re

from django.core.exceptions import ValidationError

_NHS_WEIGHTS = range(10, 1, -1)


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def validate_nhs_number(value: str) -> None:
    """NHS numbers are 10 digits; the last is a modulus 11 check digit."""
    digits = normalise_nhs_number(value)
    if not re.fullmatch(r"\d{10}", digits):
        raise ValidationError(
            "Enter an NHS number of 10 digits, like 943 476 5919", code="nhs_format"
        )
    total = sum(int(d) * w for d, w in zip(digits[:9], _NHS_WEIGHTS, strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10 or check != int(digits[9]):
        raise ValidationError("This is not a valid NHS number: check the digits", code="nhs_check")


# The DfE Unique Pupil Number: a check letter then 12 characters: 3-digit LA code,
# 4-digit establishment number, 2-digit year, 3-digit serial (the last may be a letter
# in a temporary UPN). The check letter comes from the others weighted 2..13, mod 23.
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def normalise_upn(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def upn_check_letter(rest: str) -> str:
    total = 0
    for weight, char in enumerate(rest, start=2):
        if char.isdigit():
            number = int(char)
        else:
            number = _UPN_LETTERS.index(char)
        total += number * weight
    return _UPN_LETTERS[total % 23]


def validate_upn(value: str) -> None:
    upn = normalise_upn(value)
    if not re.fullmatch(rf"[{_UPN_LETTERS}]\d{{11}}[0-9{_UPN_LETTERS}]", upn):
        raise ValidationError(
            "Enter a UPN of a letter then 12 characters, like H801200001001",
            code="upn_format",
        )
    if upn_check_letter(upn[1:]) != upn[0]:
        raise ValidationError(
            "This is not a valid UPN: the check letter does not match", code="upn_check"
        )


_POSTCODE = re.compile(
    r"^(GIR ?0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|"
    r"[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) ?"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s", "", value or "").upper()
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def validate_postcode(value: str) -> None:
    if not _POSTCODE.match(normalise_postcode(value)):
        raise ValidationError("Enter a real UK postcode, like SW1A 1AA", code="postcode")
