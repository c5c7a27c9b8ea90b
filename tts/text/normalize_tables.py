"""Word tables of the text normaliser (tts/text/normalize.py): what each written form reads as.

Data only, kept apart from the passes that use them so that each can be
read on its own.
"""

from __future__ import annotations

DIGIT_WORDS = dict(zip("0123456789", "zero one two three four five six seven eight nine".split()))

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July",
               "August", "September", "October", "November", "December")
# Written month -> full name. Only capitalised forms: "may" and "march" are verbs.
MONTHS = {m: m for m in MONTH_NAMES} | {m[:3]: m for m in MONTH_NAMES if m != "May"} | {"Sept": "September"}

# currency token -> (one, many, one minor unit, many minor units); None: no minor unit said
_DOLLAR = ("dollar", "dollars", "cent", "cents")
_EURO = ("euro", "euros", "cent", "cents")
_POUND = ("pound", "pounds", "penny", "pence")
_YEN = ("yen", "yen", None, None)
_RUPEE = ("rupee", "rupees", "paisa", "paise")
CURRENCIES = {"$": _DOLLAR, "US$": _DOLLAR, "USD": _DOLLAR, "€": _EURO, "EUR": _EURO, "£": _POUND,
              "GBP": _POUND, "¥": _YEN, "JPY": _YEN, "₹": _RUPEE, "INR": _RUPEE}
# "$1.2B", "$5k", "$3.5 million" (letters only when glued to the number)
SCALES = {"k": "thousand", "K": "thousand", "m": "million", "M": "million", "mm": "million",
          "MM": "million", "mn": "million", "b": "billion", "B": "billion", "bn": "billion",
          "t": "trillion", "T": "trillion", "tn": "trillion"}
PER_WORDS = {"hr": "hour", "h": "hour", "mo": "month", "yr": "year", "wk": "week", "min": "minute",
             "sec": "second", "ea": "each", "lb": "pound", "kg": "kilogram", "sqft": "square foot",
             "ft": "foot", "oz": "ounce", "mi": "mile", "km": "kilometer", "gal": "gallon"}


def _u(one: str, many: str | None = None) -> tuple[str, str]:
    """(singular, plural); the plural defaults to a trailing "s"."""
    return one, many or one + "s"


# unit as written after a number -> (singular, plural). Case-sensitive on
# purpose ("M" is million, "m" is metres). Left out as too ambiguous: "in",
# "s", "t", "A", "K".
UNITS = {
    "km/h": _u("kilometer per hour", "kilometers per hour"), "kph": _u("kilometer per hour", "kilometers per hour"),
    "mph": _u("mile per hour", "miles per hour"), "m/s": _u("meter per second", "meters per second"),
    "km": _u("kilometer"), "cm": _u("centimeter"), "mm": _u("millimeter"), "m": _u("meter"),
    "mi": _u("mile"), "ft": _u("foot", "feet"), "yd": _u("yard"), "sq ft": _u("square foot", "square feet"),
    "kg": _u("kilogram"), "g": _u("gram"), "mg": _u("milligram"), "lb": _u("pound"), "lbs": _u("pound"),
    "oz": _u("ounce"), "tsp": _u("teaspoon"), "tbsp": _u("tablespoon"), "L": _u("liter"), "ml": _u("milliliter"), "mL": _u("milliliter"), "gal": _u("gallon"),
    "ms": _u("millisecond"), "sec": _u("second"), "secs": _u("second"), "min": _u("minute"),
    "mins": _u("minute"), "hr": _u("hour"), "hrs": _u("hour"), "yr": _u("year"), "yrs": _u("year"),
    "KB": _u("kilobyte"), "kB": _u("kilobyte"), "MB": _u("megabyte"), "GB": _u("gigabyte"),
    "TB": _u("terabyte"), "Mbps": _u("megabit per second", "megabits per second"),
    "Gbps": _u("gigabit per second", "gigabits per second"), "Hz": _u("hertz", "hertz"),
    "kHz": _u("kilohertz", "kilohertz"), "MHz": _u("megahertz", "megahertz"), "GHz": _u("gigahertz", "gigahertz"),
    "W": _u("watt"), "kW": _u("kilowatt"), "kWh": _u("kilowatt hour"), "mAh": _u("milliamp hour"),
    "V": _u("volt"), "°C": _u("degree Celsius", "degrees Celsius"), "° C": _u("degree Celsius", "degrees Celsius"),
    "°F": _u("degree Fahrenheit", "degrees Fahrenheit"), "° F": _u("degree Fahrenheit", "degrees Fahrenheit"),
    "°": _u("degree"), "M": _u("million", "million"), "bn": _u("billion", "billion"),
}

# abbreviation -> (kind, expansion). kind: "title" precedes a name and never
# ends a sentence; "mid" never ends one either; "suffix" may (its dot is kept
# as a full stop before a capital or the end); "place" is St./Dr.: (before a
# name, after a name or number). A kind ending in "." needs the dot written
# ("Gen Z", "Co-op" and "Vol" are not abbreviations without it).
ABBREVIATIONS = {
    "Mr": ("title", "Mister"), "Mrs": ("title", "Missus"), "Ms": ("title", "Miz"), "Mx": ("title.", "Mix"),
    "Prof": ("title", "Professor"), "Mt": ("title", "Mount"), "Gov": ("title.", "Governor"),
    "Sen": ("title.", "Senator"), "Rep": ("title.", "Representative"), "Gen": ("title.", "General"),
    "Capt": ("title.", "Captain"), "Lt": ("title.", "Lieutenant"), "Sgt": ("title.", "Sergeant"),
    "Col": ("title.", "Colonel"), "Rev": ("title.", "Reverend"), "Hon": ("title.", "Honorable"),
    "Pres": ("title.", "President"), "Ft": ("title.", "Fort"),
    "St": ("place", ("Saint", "Street")), "Dr": ("place", ("Doctor", "Drive")),
    "Jr": ("suffix", "Junior"), "Sr": ("suffix", "Senior"), "Inc": ("suffix", "Incorporated"),
    "Ltd": ("suffix", "Limited"), "Corp": ("suffix", "Corporation"), "Bros": ("suffix", "Brothers"),
    "Ave": ("suffix", "Avenue"), "Blvd": ("suffix", "Boulevard"), "Rd": ("suffix", "Road"),
    "Hwy": ("suffix", "Highway"), "Pkwy": ("suffix", "Parkway"), "Apt": ("suffix", "Apartment"),
    "Dept": ("suffix", "Department"), "etc": ("suffix", "et cetera"), "Etc": ("suffix", "Et cetera"),
    "approx": ("suffix", "approximately"), "Co": ("suffix.", "Company"), "Ln": ("suffix.", "Lane"),
    "Ct": ("suffix.", "Court"), "Sq": ("suffix.", "Square"), "Ste": ("suffix.", "Suite"),
    "Univ": ("suffix.", "University"), "Vol": ("mid.", "Volume"), "vol": ("mid.", "volume"),
    "Ch": ("mid.", "Chapter"), "Fig": ("mid.", "Figure"), "fig": ("mid.", "figure"),
    "Est": ("mid.", "Established"), "est": ("mid.", "established"), "vs": ("mid", "versus"),
    "Vs": ("mid", "versus"), "v": ("mid.", "versus"), "cf": ("mid.", "compare"),
    "e.g": ("mid", "for example"), "E.g": ("mid", "For example"), "i.e": ("mid", "that is"),
    "I.e": ("mid", "That is"), "a.k.a": ("mid", "also known as"), "aka": ("mid", "also known as"),
    "AKA": ("mid", "also known as"), "Ph.D": ("mid", "PhD"),
}

# all-caps tokens espeak-ng reads as a word when people spell them out
SPELL_OUT = {"NYC": "N Y C", "ETA": "E T A", "APR": "A P R", "IDs": "I D's"}

# "<Name> VIII" -> "the eighth" after these; after any other capitalised word
# a roman numeral reads as a cardinal ("World War II", "Part IV", "Rocky III"),
# which also beats espeak's own "roman two".
REGNAL_NAMES = frozenset(
    "Henry Edward George William Elizabeth Charles Louis James Richard John Mary Anne Victoria "
    "Benedict Pius Gregory Leo Paul Innocent Clement Alexander Frederick Philip Peter Catherine "
    "Ferdinand Nicholas Ivan Wilhelm Otto Francis Gustav Christian Olaf Harald Haakon Carlos "
    "Juan Felipe Alfonso Pedro Constantine Ptolemy Ramesses Rama Stephen David Malcolm Robert "
    "Urban Boniface Sixtus Julius Martin Adrian Eugene Celestine Honorius Callixtus".split()
)
# Numerals that are also ordinary tokens ("an IV drip", "vi", "XX chromosomes")
# are read only after a regnal name or one of these words.
AMBIGUOUS_ROMAN = frozenset(("IV", "VI", "XX", "XXX"))
ROMAN_CUES = frozenset("War Chapter Part Volume Act Scene Phase Type Class Book Level Stage Grade Season "
                       "Episode Article Title Schedule Category Super Bowl".split())

# top-level domains a bare "name.tld" must end with to be read as an address;
# lower-case only, so "end.So" (a missing space) is not a URL.
TLDS = ("com|org|net|edu|gov|mil|int|io|ai|co|us|uk|ca|au|de|fr|es|it|nl|se|ch|eu|jp|cn|in|ru|br|"
        "dev|app|me|tv|info|biz|ly|gg|xyz|sh|tech|cloud|site|online|store|blog|news|page|so")

# symbol -> spoken form, applied last (after numbers and addresses took theirs)
SYMBOL_WORDS = {
    "&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "%": " percent ", "/": " slash ",
    "#": " ", "*": " ", "_": " ", "\\": " ", "|": ", ", "~": " ", "^": " ", "<": " ", ">": " ",
    "(": ", ", ")": ", ", "[": ", ", "]": ", ", "{": ", ", "}": ", ", '"': " ",
    "°": " degrees ", "©": " copyright ", "®": " ", "§": " section ", "¶": " ", "±": " plus or minus ",
    "×": " by ", "÷": " divided by ", "≈": " approximately ", "≠": " not equal to ",
    "≤": " less than or equal to ", "≥": " greater than or equal to ", "→": " to ", "←": " ",
    "•": ", ", "·": " ", "†": " ", "‡": " ", "¿": " ", "¡": " ", "$": " dollars ", "€": " euros ",
    "£": " pounds ", "¥": " yen ", "¢": " cents ", "₹": " rupees ",
}
