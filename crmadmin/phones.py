"""One phone normalisation for forms, imports and look-ups: numbers are stored and compared as E.164."""
import re

import phonenumbers


def e164(text: str, region: str, strict: bool = True) -> str | None:
    """The number as customers' files store it (+8613812345678), or None if it is not a valid phone number.

    A national number is read in `region` (CRM_PHONE_REGION); "+country ..." numbers are read as written.
    `strict=False` accepts any possible number (matching old files), not only numbers valid today."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not (phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def readable(stored: str | None, region: str) -> str:
    """A stored number as people read it: national in the home `region` (138 1234 5678), international otherwise
    (+44 20 7946 0958); a value that is no number (an old file's) is shown as stored."""
    if not stored:
        return stored or ""
    try:
        number = phonenumbers.parse(stored, region)
    except phonenumbers.NumberParseException:
        return stored
    if not phonenumbers.is_possible_number(number):
        return stored
    home = number.country_code == phonenumbers.country_code_for_region(region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if home
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# What people put between the digits of a phone number: spaces, dashes, dots, slashes, brackets (and their full-width
# forms, as a Chinese input method types them); nothing else may come between two digits of a number found in text.
SEPARATORS = (" \t\r\n\xa0\xad\u200b\u3000"  # spaces
              "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d~\uff5e"  # dashes
              "/\uff0f.\uff0e\u00b7()\uff08\uff09[]\uff3b\uff3d")
FULL_WIDTH_DIGITS = "０１２３４５６７８９"
_SEP = "[" + re.escape(SEPARATORS) + "]{0,3}"
_OPEN, _CLOSE = "(（[［", ")）]］"


def _digit(d: str) -> str:
    return f"[{d}{FULL_WIDTH_DIGITS[int(d)]}]"


def _digits(digits: str) -> str:
    return _SEP.join(_digit(d) for d in digits)


class Written:
    """Every way a person writes some phone numbers in free text, so that they can be found and masked there.

    A number is its national digits with any grouping (spaces, dashes, dots, brackets, or none between any two of
    them), after an optional +country / 00country / country code (and a stray "(0)") or the trunk prefix (0 in China);
    "139 1234 5678", "(010) 1234-5678", "+86-139-1234-5678", "0086 13912345678", "861391234567 8" all match. A
    longer run of digits that merely contains them is another number and is left alone."""

    def __init__(self, texts, region: str):
        self.digits: list[str] = []  # each number's national significant digits: what a first look for it seeks
        forms = []
        for text in texts:
            try:
                number = phonenumbers.parse(text, region)
            except phonenumbers.NumberParseException:
                continue
            national = phonenumbers.national_significant_number(number)
            if len(national) < 5 or national in self.digits:
                continue
            self.digits.append(national)
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(
                phonenumbers.region_code_for_number(number) or region)
            trunk = metadata.national_prefix if metadata is not None and metadata.national_prefix else ""
            country = "".join(_digit(d) for d in str(number.country_code))
            international = (f"(?:(?:\\+|＋|00|００){_SEP})?{country}{_SEP}"
                             f"(?:[(（]?{_digit('0')}[)）]?{_SEP})?")  # "+86 (0)10 ..." and "+86 010 ..."
            prefix = f"(?:{international}|{_digits(trunk)}{_SEP})?" if trunk else f"(?:{international})?"
            forms.append(prefix + _digits(national))
        self.pattern = re.compile(f"(?<!\\d)[{re.escape(_OPEN)}]?(?:{'|'.join(forms)})(?!\\d)") if forms else None

    def __bool__(self) -> bool:
        return self.pattern is not None

    def search(self, text) -> bool:
        """Whether the text holds one of the numbers, in any written form."""
        return bool(self.pattern and isinstance(text, str) and self.pattern.search(text))

    def mask(self, text: str, mask: str) -> str:
        """The text with each written number replaced by `mask`; a bracket it opens but does not close stays."""
        if not self.pattern:
            return text

        def replace(match):
            found = match.group()
            if found[0] in _OPEN and sum(found.count(c) for c in _OPEN) > sum(found.count(c) for c in _CLOSE):
                return found[0] + mask
            return mask
        return self.pattern.sub(replace, text)
