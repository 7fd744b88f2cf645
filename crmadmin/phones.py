"""One phone normalisation for forms, imports and look-ups: numbers are stored and compared as E.164."""
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
