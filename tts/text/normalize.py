"""English text normalisation: written forms -> spoken words, before G2P.

espeak-ng reads raw symbols badly ("$42.50" -> "dollar forty-two. fifty"), so
everything a voice agent sends (numbers, money, dates, times, phone numbers,
units, URLs, abbreviations, stray unicode) is rewritten here as plain English
words. Sentence punctuation (. , ? ! ; :) survives so prosody does too.

The pipeline is a fixed list of small passes (see ``_PASSES``) that read
the word tables in ``normalize_tables.py``. Order matters: the most specific
patterns (URLs, phone numbers, dates, times, money) run before the generic
number reader, and each pass only ever emits words, so a later pass cannot
misread an earlier one's output.

Robustness: input comes from users and LLMs, so every regex is linear. Number
patterns start with a look-behind that rejects a start inside a digit run
(otherwise ``\\d+X`` retried at each of N digits costs N^2), runs of spaces are
collapsed before any pattern that allows spaces, and quantifiers over
free-form characters are bounded. Integers longer than ``_MAX_CARDINAL_DIGITS``
are read digit by digit, never handed to num2words or ``int()``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from num2words import num2words

from .normalize_tables import (  # the word tables
    ABBREVIATIONS, AMBIGUOUS_ROMAN, CURRENCIES, DIGIT_WORDS, MONTHS, MONTH_NAMES, PER_WORDS,
    REGNAL_NAMES, ROMAN_CUES, SCALES, SPELL_OUT, SYMBOL_WORDS, TLDS, UNITS,
)

__all__ = ["normalize_text", "normalize_for_wer"]

# Above this many digits an integer is read digit by digit ("a quadrillion and
# change" is never what the writer meant, and num2words gets slow / refuses).
_MAX_CARDINAL_DIGITS = 15

# A number as written: comma-grouped, plain or decimal. Alternatives are
# disjoint in how they start (a comma group needs ",ddd"), so failing costs
# O(length) once, not per split.
NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
# No match may start inside a number (quadratic rescans, "1.5" read as ".5").
_NB = r"(?<![\w.,])"


# --------------------------------------------------------------------------
# number readers (strings in, words out)
# --------------------------------------------------------------------------


def _digits(s: str) -> str:
    """'4567' -> 'four five six seven' (non-digits ignored)."""
    return " ".join(DIGIT_WORDS[c] for c in s if c.isdigit())


def _tidy_n2w(words: str) -> str:
    # num2words writes British "one hundred and one, ..."; US speech drops both.
    return words.replace(",", "").replace(" and ", " ")


@functools.lru_cache(maxsize=4096)  # num2words costs ~40 us a call; texts repeat numbers
def _int_words(s: str) -> str:
    """Cardinal for a digit string; leading zeros or huge runs go digit by digit."""
    s = s.replace(",", "")
    if not s:
        return ""
    if len(s) > _MAX_CARDINAL_DIGITS or (len(s) > 1 and s[0] == "0"):
        return _digits(s)
    return _tidy_n2w(num2words(int(s)))


def _number_words(s: str) -> str:
    """'1,234.56' -> 'one thousand two hundred thirty-four point five six'."""
    whole, dot, frac = s.replace(",", "").partition(".")
    out = _int_words(whole) if whole else ""
    if dot:
        out = f"{out} point {_digits(frac)}".strip()
    return out


def _ordinal_words(s: str) -> str:
    s = s.replace(",", "")
    if len(s) > _MAX_CARDINAL_DIGITS:
        return _digits(s)
    return _tidy_n2w(num2words(int(s), to="ordinal"))


def _year_words(n: int) -> str:
    """1999 -> nineteen ninety-nine, 2005 -> two thousand five, 1905 -> nineteen oh five."""
    if 2000 <= n <= 2009 or n % 1000 == 0 or not 1000 <= n <= 9999:
        return _int_words(str(n))
    hi, lo = divmod(n, 100)
    if lo == 0:
        return f"{_int_words(str(hi))} hundred"
    lo_words = f"oh {DIGIT_WORDS[str(lo)]}" if lo < 10 else _int_words(str(lo))
    return f"{_int_words(str(hi))} {lo_words}"


def _is_year(s: str) -> bool:
    return len(s) == 4 and s.isdigit() and 1100 <= int(s) <= 2099


def _spoken_number(s: str) -> str:
    """A bare written number, with plain four-digit years read as years."""
    return _year_words(int(s)) if _is_year(s) else _number_words(s)


def _plural(words: str) -> str:
    """'ninety' -> 'nineties', 'hundred' -> 'hundreds' (for decades, fractions)."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("f"):  # half
        return words[:-1] + "ves"
    return words + "s"


def _is_one(s: str) -> bool:
    return s.lstrip("-") == "1"


# --------------------------------------------------------------------------
# unicode clean-up and layout
# --------------------------------------------------------------------------

# Mapped before NFKC: NFKC would turn "1½" into "11⁄2" and "™" into "TM".
_PRE_NFKC = str.maketrans({
    "½": " 1/2 ", "⅓": " 1/3 ", "⅔": " 2/3 ", "¼": " 1/4 ", "¾": " 3/4 ", "⅛": " 1/8 ",
    "²": " squared ", "³": " cubed ", "™": " ", "″": '"', "′": "'",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "−": "-",
    "—": ", ", "―": ", ", "…": "...", "⁄": "/",
    "\t": " ", "\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x1c": "\n", "\x1d": "\n",
    "\x1e": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n",
})
_KEEP_SYMBOLS = frozenset("°©®¢")  # category So/Sc we read aloud later
_DROP_AS_SPACE = frozenset(("So", "Sk", "Co", "Cs", "Cn", "Zs"))  # emoji and friends
_DROP_SILENT = frozenset(("Cc", "Cf", "Me"))  # controls, zero-width, keycaps
_MAX_MARKS = 4  # combining marks kept per letter ("Zalgo" text stacks hundreds)
_ASCII_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _clean_unicode(text: str) -> str:
    """Map quotes/dashes/fractions, NFKC, drop controls, emoji and format chars."""
    text = text.replace("\r\n", "\n").translate(_PRE_NFKC)
    if text.isascii():
        return _ASCII_CONTROL.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    marks = 0
    for ch in text:
        if ch < "\x80":
            if ch == "\n" or " " <= ch < "\x7f":
                out.append(ch)
            marks = 0
            continue
        cat = unicodedata.category(ch)
        if ch in _KEEP_SYMBOLS:
            out.append(ch)
        elif cat == "Nd":  # Devanagari, Thai, Arabic-Indic... digits: \d matches them too
            out.append(str(unicodedata.decimal(ch)))
        elif cat in _DROP_AS_SPACE:
            out.append(" ")
        elif cat in _DROP_SILENT or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            continue
        elif cat == "Mn":
            # keep marks that sit on a letter (Hindi vowel signs, stray accents)
            if out and marks < _MAX_MARKS and (out[-1].isalpha() or marks):
                out.append(ch)
                marks += 1
            continue
        else:
            out.append(ch)
        marks = 0
    return "".join(out)


# A list item or heading marker at the start of a line: "- ", "* ", "1. ", "## ".
_LINE_MARKER = re.compile(r"(?:[-*•+]|#{1,6}|\d{1,3}[.)])\s")
_SPACES = re.compile(r"[ \t]+")


def _join_lines(text: str) -> str:
    """Hard-wrapped lines join with a space; blank lines and list items end a sentence."""
    if "\n" not in text:
        return text
    out: list[str] = []
    need_break = False
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            need_break = True
            continue
        marker = _LINE_MARKER.match(line)
        if marker:
            need_break = True
            if not marker.group(0)[0].isdigit():
                line = line[marker.end():].strip()  # "1." stays: it is read
        if out and need_break and out[-1][-1] not in ".!?;:,":
            out[-1] += "."
        out.append(line)
        need_break = bool(marker)
    return " ".join(out)


# --------------------------------------------------------------------------
# URLs, e-mail, phone numbers
# --------------------------------------------------------------------------

# Bounded labels + look-behind: a failed attempt costs at most ~400 steps and
# can only start at the beginning of a token.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,6}(?![\w-])")
_URL = re.compile(
    r"(?<![\w@./-])(?:(?:https?|ftp)://[^\s/]{1,253}|(?:www\.)?[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,5}"
    rf"\.(?:{TLDS})(?![\w-]))(?::\d{{1,5}})?(?:/[^\s]{{0,300}})?"
)
_URL_PUNCT = {".": " dot ", "/": " slash ", "-": " dash ", "_": " underscore ", "@": " at ",
              "?": " question mark ", "=": " equals ", "&": " and ", "#": " hash ", "+": " plus ",
              "%": " percent ", ":": " colon ", "~": " tilde "}
_URL_SPLIT = re.compile(r"[^A-Za-z0-9]")
_URL_SCHEME = re.compile(r"^(?:https?|ftp)://")


def _read_address(s: str) -> str:
    return _URL_SPLIT.sub(lambda m: _URL_PUNCT.get(m.group(0), " "), s)


def _url(m: re.Match) -> str:
    url = m.group(0)
    tail = len(url) - len(url.rstrip(".,;:!?)'\""))  # sentence punctuation after a URL
    url, rest = url[: len(url) - tail], url[len(url) - tail:]
    return f" {_read_address(_URL_SCHEME.sub('', url).rstrip('/'))} {rest}"


def _expand_addresses(text: str) -> str:
    text = _EMAIL.sub(lambda m: f" {_read_address(m.group(0))} ", text)
    return _URL.sub(_url, text)


_PHONE_US = re.compile(
    r"(?<![\w+])(?P<cc>\+?1[ .-])?(?:\((?P<a1>\d{3})\) ?|(?P<a2>\d{3})[ .-])(?P<b>\d{3})[ .-](?P<c>\d{4})(?![\w-])"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+(?P<cc>\d{1,3})(?P<rest>(?:[ .-]\(?\d{1,4}\)?){2,5}|\d{6,12})(?![\w-])")


def _phone_group(g: str) -> str:
    # toll-free "800" is said "eight hundred"
    return _int_words(g) if len(g) == 3 and g.endswith("00") and g[0] != "0" else _digits(g)


def _phone_us(m: re.Match) -> str:
    parts = [_phone_group(m["a1"] or m["a2"]), _digits(m["b"]), _digits(m["c"])]
    if m["cc"]:
        parts.insert(0, ("plus " if "+" in m["cc"] else "") + "one")
    return ", ".join(parts)


def _phone_intl(m: re.Match) -> str:
    groups = re.findall(r"\d{1,4}", m["rest"])
    return "plus " + ", ".join([_digits(m["cc"])] + [_digits(g) for g in groups])


# A seven-digit local number ("555-0142"). North American exchange codes
# start with 2-9, which keeps "100-1000" and the like for the range reader.
_PHONE_LOCAL = re.compile(r"(?<![\w+.-])(?P<b>[2-9]\d{2})-(?P<c>\d{4})(?![\w-]|\.\d)")


# A national number with a trunk zero, in spaced groups, as the UK and much of
# Europe write them ("020 7946 0018", "07700 900123", "0161 496 0000"): 10 or 11
# digits in all, read digit by digit per group. Without the groups' spacing a
# long run of digits stays a number, and a leading group without its zero is
# no phone number ("2010 2020").
_PHONE_TRUNK = re.compile(r"(?<![\w+.,-])0\d{2,4}(?:[ .-]\d{3,6}){1,2}(?![\w-]|[.,]\d)")


def _phone_trunk(m: re.Match) -> str:
    groups = re.findall(r"\d+", m.group(0))
    if sum(len(g) for g in groups) not in (10, 11):
        return m.group(0)
    return ", ".join(_digits(g) for g in groups)


def _expand_phones(text: str) -> str:
    text = _PHONE_INTL.sub(_phone_intl, _PHONE_US.sub(_phone_us, text))
    text = _PHONE_TRUNK.sub(_phone_trunk, text)
    return _PHONE_LOCAL.sub(lambda m: f"{_digits(m['b'])}, {_digits(m['c'])}", text)


# --------------------------------------------------------------------------
# dates and times
# --------------------------------------------------------------------------

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
# "2024-03-15", also the date half of "2024-03-15T10:30" (the time is read later)
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?:(?P<t>T)(?=\d\d:\d\d)|(?![\d-]))")
# "3/15/2024", "3/15/24", "15.03.2024" (dotted needs a 4-digit year: "1.2.24" is a version)
_SLASH_DATE = re.compile(r"(?<![\d/.])(\d{1,2})(?:(/)(\d{1,2})/(\d{4}|\d{2})|(\.)(\d{1,2})\.(\d{4}))(?![\d/]|\.\d)")
_MONTH_DAY = re.compile(
    rf"\b(?P<m>{_MONTH_RE})(?:\.)? (?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:,.]\d|\w)(?:,? (?P<y>\d{{4}})(?![\d,.]\d|\w))?"
)
_DAY_MONTH = re.compile(
    rf"(?<![\w.,])(?P<d>\d{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<m>{_MONTH_RE})\b\.?(?:,? (?P<y>\d{{4}})(?![\d,.]\d|\w))?"
)


def _date_words(month: int, day: int, year: str | None) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    out = f"{MONTH_NAMES[month - 1]} {_ordinal_words(str(day))}"
    if year:
        y = int(year) if len(year) == 4 else (2000 + int(year) if int(year) < 50 else 1900 + int(year))
        out += f", {_year_words(y)}"
    return out


def _iso_date(m: re.Match) -> str:
    words = _date_words(int(m[2]), int(m[3]), m[1])
    return (words + (" at " if m["t"] else "")) if words else m.group(0)


def _slash_date(m: re.Match) -> str:
    # "/" is US month-first; "." is European day-first; an impossible month flips it
    if m[2]:
        month, day, year = int(m[1]), int(m[3]), m[4]
    else:
        day, month, year = int(m[1]), int(m[6]), m[7]
    if month > 12 >= day:
        month, day = day, month
    return _date_words(month, day, year) or m.group(0)


def _month_index(name: str) -> int:
    return MONTH_NAMES.index(MONTHS[name]) + 1


def _day_month(m: re.Match) -> str:
    day = int(m["d"])
    if not 1 <= day <= 31:
        return m.group(0)
    the = "" if m.string[max(0, m.start() - 4): m.start()].lower() == "the " else "the "
    out = f"{the}{_ordinal_words(str(day))} of {MONTHS[m['m']]}"
    return out + (f", {_year_words(int(m['y']))}" if m["y"] else "")


def _expand_dates(text: str) -> str:
    text = _ISO_DATE.sub(_iso_date, text)
    text = _SLASH_DATE.sub(_slash_date, text)
    text = _MONTH_DAY.sub(lambda m: _date_words(_month_index(m["m"]), int(m["d"]), m["y"]) or m.group(0), text)
    return _DAY_MONTH.sub(_day_month, text)


_AMPM = r"(?: ?(?P<ap>[AaPp])(?P<dot>\.)? ?[Mm]\b(?P<dot2>\.)?)"
_CLOCK = re.compile(
    rf"(?<![\w.:])(?:(?P<h0>\d{{1,2}})(?::(?P<m0>[0-5]\d))? ?(?:-|to) ?)?"
    rf"(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?(?![\d:]){_AMPM}?"
)
_HOUR_AMPM = re.compile(rf"(?<![\w.:])(?:(?P<h0>1[0-2]|0?[1-9]) ?(?:-|to) ?)?(?P<h>1[0-2]|0?[1-9]){_AMPM}")


def _clock_words(h: int, minutes: str | None, ampm: bool) -> str:
    if not ampm and h == 0:
        hour = "zero"
    else:
        hour = _int_words(str(h))
    if minutes is None or minutes == "00":
        if ampm or minutes is None:
            return hour
        return f"{hour} o'clock" if h <= 12 else f"{hour} hundred"
    mins = f"oh {DIGIT_WORDS[minutes[1]]}" if minutes[0] == "0" else _int_words(minutes)
    return f"{hour} {mins}"


def _time(m: re.Match) -> str:
    ampm = f" {_AMPM_WORDS[m['ap'].upper()]}" if m["ap"] else ""
    out = _clock_words(int(m["h"]), m.groupdict().get("m"), bool(ampm))
    if m.groupdict().get("s") and m["s"] != "00":
        out += f" and {_int_words(m['s'].lstrip('0') or '0')} seconds"
    if m["h0"]:
        out = f"{_clock_words(int(m['h0']), m.groupdict().get('m0'), bool(ampm))} to {out}"
    out += ampm
    # "at 3 p.m. Then ..." -- the dot after "m" was also a full stop
    if m["dot2"] and re.match(r"\s*(?:$|[A-Z])", m.string[m.end(): m.end() + 3]):
        out += "."
    return out


# Written "A-M", not "AM": espeak reads a clause-final "ten AM" as the word "am".
_AMPM_WORDS = {"A": "A-M", "P": "P-M"}
_AMPM_DASH = re.compile(r"\b([AP]-M) ?- ?(?=[a-z])")  # "9am-5pm" after both halves are read


def _expand_times(text: str) -> str:
    text = _HOUR_AMPM.sub(_time, _CLOCK.sub(_time, text))
    return _AMPM_DASH.sub(r"\1 to ", text)


# --------------------------------------------------------------------------
# abbreviations, initialisms, roman numerals
# --------------------------------------------------------------------------

_OPERATOR_WORDS = {"*": " times ", "^": " to the power of ", "<": " less than ", ">": " greater than ",
                   "<=": " less than or equal to ", ">=": " greater than or equal to "}
# "x < 5", "<5 ms", "a >= 3": only before a number, so "<br>" or "->" stay symbols
_COMPARISON = re.compile(r"(?<![<>=-])(<=|>=|<|>) ?(?=-?\.?\d)")
_APPROX = re.compile(r"(?<![\w~])~ ?(?=[\d$£€¥₹.])")
_ABBR = re.compile(
    r"(?<![\w.])(?P<a>" + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")"
    r"(?P<dot>\.)?(?![\w])"
)
_PREV_TOKEN = re.compile(r"(\S+)\s+$")
_NEXT_WORD = re.compile(r" (\w{1,30})")
_INITIALISM = re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,8})(?![\w])")
_INITIAL = re.compile(r"(?<![\w.-])([A-Z])\.(?= [A-Z])")
_SPELL = re.compile(r"\b(?:" + "|".join(SPELL_OUT) + r")\b")
_HASH_NUMBER = re.compile(r"#(?=\d)")
_NUMBER_ABBR = re.compile(r"\b(No|no|Nos|nos)\. ?(?=\d)")


def _prev_word(s: str, start: int) -> tuple[str, bool]:
    """The token before ``start`` and whether it opens a sentence."""
    m = _PREV_TOKEN.search(s[max(0, start - 40): start])
    if not m:
        return "", True
    before = s[max(0, start - 40): start][: m.start()].rstrip()
    return m.group(1), (not before or before[-1] in ".!?")


def _abbreviation(m: re.Match) -> str:
    abbr, dot = m["a"], m["dot"]
    kind, words = ABBREVIATIONS[abbr]
    if kind.endswith("."):
        if not dot:
            return m.group(0)
        kind = kind[:-1]
    s, end = m.string, m.end()
    nxt = _NEXT_WORD.match(s, end)
    followed_by_name = bool(nxt) and nxt.group(1)[0].isupper() and nxt.group(1) not in ABBREVIATIONS
    if kind == "place":  # St. / Dr.: Saint/Doctor before a name, Street/Drive after one
        prev, opens = _prev_word(s, m.start())
        after_name = (prev[:1].isupper() and not opens) or prev[:1].isdigit()
        title, place = words
        if after_name or not followed_by_name:
            words, kind = place, "suffix"
        else:
            return title
    if kind in ("title", "mid"):
        return words
    # a suffix's dot doubles as a full stop at the end of a sentence
    if dot and (end >= len(s.rstrip()) or followed_by_name):
        return words + "."
    return words


def _initialism(m: re.Match) -> str:
    letters = m.group(1).replace(".", "").upper()
    out = {"AM": "A-M", "PM": "P-M"}.get(letters, " ".join(letters))
    s, end = m.string, m.end()
    return out + "." if end >= len(s.rstrip()) else out


def _expand_abbreviations(text: str) -> str:
    """Titles, street words, Latin shorthands, initialisms, "No. 5", "~", "<"."""
    # "~5 km", "<5 ms": said before the number, so done before units take it
    text = _APPROX.sub("about ", text)
    text = _COMPARISON.sub(lambda m: _OPERATOR_WORDS[m[1]], text)
    text = _NUMBER_ABBR.sub(lambda m: "numbers " if m[1].lower() == "nos" else "number ", text)
    text = _HASH_NUMBER.sub("number ", text)
    text = _ABBR.sub(_abbreviation, text)
    text = _INITIALISM.sub(_initialism, text)
    text = _INITIAL.sub(r"\1", text)
    return _SPELL.sub(lambda m: SPELL_OUT[m.group(0)], text)


_ROMAN = re.compile(r"\b(?P<prev>[A-Z][a-z]+) (?P<rom>(?=[IVX]{2})X{0,3}(?:IX|IV|V?I{0,3}))(?!\w)")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}


def _roman_value(s: str) -> int:
    total = 0
    for a, b in zip(s, s[1:] + " "):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES[b] > v else v
    return total


def _roman(m: re.Match) -> str:
    prev, rom = m["prev"], m["rom"]
    if len(rom) < 2:
        return m.group(0)
    if rom in AMBIGUOUS_ROMAN and prev not in REGNAL_NAMES and prev not in ROMAN_CUES:
        return m.group(0)
    n = _roman_value(rom)
    if prev in REGNAL_NAMES:
        return f"{prev} the {_ordinal_words(str(n))}"
    return f"{prev} {_int_words(str(n))}"


def _expand_roman(text: str) -> str:
    return _ROMAN.sub(_roman, text)


# --------------------------------------------------------------------------
# money, percentages, units, fractions, ordinals, decades
# --------------------------------------------------------------------------

_CUR = "|".join(re.escape(c) for c in sorted(CURRENCIES, key=len, reverse=True))
_SCALE = r"(?:(?P<scale>bn|mn|mm|MM|tn|[kKmMbBtT])(?![\w])| (?P<scalew>thousand|million|billion|trillion)\b)"
_MONEY = re.compile(
    rf"(?<![\w.])(?P<neg>-)?(?P<cur>{_CUR}) ?(?P<a>{NUM})(?: ?(?:-|to) ?(?:{_CUR})?(?P<b>{NUM}))?{_SCALE}?"
    r"(?:/(?P<per>[A-Za-z]{1,12})\b)?"
)
_MONEY_SUFFIX = re.compile(rf"{_NB}(?P<neg>-)?(?P<a>{NUM}) ?(?P<cur>¢|€|USD|EUR|GBP|JPY|INR)(?![\w])")


# "a $5 fee" reads "a five dollar fee": an article right before, a word right after
_ARTICLE_BEFORE = re.compile(r"(?:^|\s)[Aa]n? $")
_NOUN_NEXT = re.compile(r" [a-z]")


def _attributive(m: re.Match) -> bool:
    # look at 4 chars only: searching the whole prefix per match would be quadratic
    before = m.string[max(0, m.start() - 4): m.start()]
    return bool(_ARTICLE_BEFORE.search(before) and _NOUN_NEXT.match(m.string, m.end()))


def _amount(num: str, cur: str) -> str:
    one, many, sub_one, sub_many = CURRENCIES[cur]
    whole, _, frac = num.replace(",", "").partition(".")
    if frac and (len(frac) > 2 or sub_one is None):
        return f"{_number_words(num)} {many}"
    whole = whole or "0"
    minor = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if whole.strip("0") or not minor:
        parts.append(f"{_int_words(whole)} {one if whole == '1' else many}")
    if minor:
        parts.append(f"{_int_words(str(minor))} {sub_one if minor == 1 else sub_many}")
    return " and ".join(parts)


def _money(m: re.Match) -> str:
    cur, a, b = m["cur"].strip(), m["a"], m["b"]
    many = CURRENCIES[cur][1]
    scale = SCALES.get(m["scale"] or "") or m["scalew"]
    if scale:
        out = _number_words(a) + (f" to {_number_words(b)}" if b else "") + f" {scale} {many}"
    elif b and "." not in a + b:
        out = f"{_number_words(a)} to {_number_words(b)} {many}"
    elif b:
        out = f"{_amount(a, cur)} to {_amount(b, cur)}"
    elif _attributive(m) and "." not in a:
        out = f"{_number_words(a)} {CURRENCIES[cur][0]}"  # "a $5 fee" -> "a five dollar fee"
    else:
        out = _amount(a, cur)
    if m["per"]:
        out += f" per {PER_WORDS.get(m['per'], m['per'])}"
    return ("minus " if m["neg"] else "") + out


def _money_suffix(m: re.Match) -> str:
    if m["cur"] == "¢":
        return ("minus " if m["neg"] else "") + f"{_number_words(m['a'])} {'cent' if m['a'] == '1' else 'cents'}"
    return ("minus " if m["neg"] else "") + _amount(m["a"], m["cur"])


def _expand_money(text: str) -> str:
    return _MONEY_SUFFIX.sub(_money_suffix, _MONEY.sub(_money, text))


_RANGE = rf"(?P<neg>-)?(?P<a>{NUM})(?: ?(?:-|to) ?(?P<b>-?{NUM}))?"
_PERCENT = re.compile(rf"{_NB}{_RANGE} ?%")
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_UNIT = re.compile(rf"{_NB}{_RANGE} ?(?P<u>{_UNIT_RE})(?:\.(?= [a-z]))?(?![\w°/])")
_FEET_INCHES = re.compile(r"(?<![\w.])(\d{1,2})' ?(\d{1,2})(?:\"|'')")


def _signed(neg: str | None, num: str) -> str:
    if num.startswith("-"):
        neg, num = "-", num[1:]
    return ("minus " if neg else "") + _number_words(num)


def _range_words(m: re.Match) -> str:
    out = _signed(m["neg"], m["a"])
    return out + (f" to {_signed(None, m['b'])}" if m["b"] else "")


def _unit(m: re.Match) -> str:
    one, many = UNITS[m["u"]]
    last = m["b"] or m["a"]
    return f"{_range_words(m)} {one if _is_one(last) and not m['b'] else many}"


def _expand_measures(text: str) -> str:
    text = _PERCENT.sub(lambda m: f"{_range_words(m)} percent", text)
    text = _FEET_INCHES.sub(
        lambda m: f"{_int_words(m[1])} {'foot' if m[1] == '1' else 'feet'} "
        f"{_int_words(m[2])} {'inch' if m[2] == '1' else 'inches'}", text)
    return _UNIT.sub(_unit, text)


_FRACTION = re.compile(r"(?<![\w/.,])(?:(?P<w>\d{1,3}) )?(?P<n>\d{1,3})/(?P<d>\d{1,3})(?![\w/]|[.,]\d)")
_FRACTION_NAMES = {2: ("half", "halves"), 4: ("quarter", "quarters")}
# Denominators people read as fractions; "24/7", "50/50", "9/11", "3/15" are
# read as two numbers instead.
_FRACTION_DENOMINATORS = frozenset((*range(2, 11), 12, 16, 32, 64, 100, 1000))


def _fraction(m: re.Match) -> str:
    n, d = int(m["n"]), int(m["d"])
    whole = _int_words(m["w"]) if m["w"] else ""
    improper = n >= d and not (d in (2, 4) and n < 10)  # "3/2" is "three halves"
    if d not in _FRACTION_DENOMINATORS or improper or n == 0:
        return f"{whole} {_int_words(m['n'])} {_int_words(m['d'])}".strip()
    one, many = _FRACTION_NAMES.get(d) or (_ordinal_words(str(d)), _plural(_ordinal_words(str(d))))
    if whole:
        return f"{whole} and " + (f"a {one}" if n == 1 else f"{_int_words(m['n'])} {many}")
    return f"{_int_words(m['n'])} {one if n == 1 else many}"


_ORDINAL = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d{1,9})(?:st|nd|rd|th|ST|ND|RD|TH)\b")
_DECADE = re.compile(r"(?<![\w.,'])(?P<q>')?(?P<n>\d{1,3}0)'?s\b")


def _decade(m: re.Match) -> str:
    n = m["n"]
    if m["q"] and len(n) != 2:
        return m.group(0)
    if n in ("100", "1000"):  # "the 100s" -> "hundreds", not "one hundreds"
        return _plural(_int_words(n)[len("one "):])
    return _plural(_spoken_number(n))


def _expand_fractions_ordinals(text: str) -> str:
    text = _FRACTION.sub(_fraction, text)
    text = _ORDINAL.sub(lambda m: _ordinal_words(m[1]), text)
    return _DECADE.sub(_decade, text)


# --------------------------------------------------------------------------
# bare numbers and symbols
# --------------------------------------------------------------------------

_NUMERIC_OPS = re.compile(r"(?<=\d) ?([*^]) ?(?=-?\d)")
_TIMES = re.compile(rf"{_NB}({NUM})x(?=$|[\s.,;:!?])")
# "1920x1080", "12x8x4" (dimensions); "0x1F" is hex, not a product
_BY = re.compile(r"(?<=\d)(?<!\b0) ?[x×] ?(?=\d)")
# "16:9", "1:1" -- what is left after the clock pass took real times
_RATIO = re.compile(r"(?<![\w.:])(\d{1,3}):(\d{1,3})(?![\d:])")
# emergency numbers are dialled digit by digit ("call nine one one"); only
# after a dialling verb, since "911 people" or "Porsche 911" are not
_SERVICE_NUMBERS = re.compile(r"\b((?:[Cc]all|[Dd]ial|[Tt]ext)(?:ing|ed|s)? )(911|999|112|411|311)(?!\w|[.,-]\d)")
_VERSION = re.compile(r"(?<![\w.,])(\d{1,9}(?:\.\d{1,9}){2,6})(?![\w]|\.\d)")
_RANGE_BARE = re.compile(rf"{_NB}(?P<a>{NUM}) ?- ?(?P<b>{NUM})(?![\w]|[.,]\d)")
# letters may touch a number ("page2", "MP3", "4K"): it is read and spaced off
_NUMBER = re.compile(rf"(?<![\d.,])(?P<neg>-(?=[\d.]))?(?P<n>{NUM})")
_LEFTOVER_DIGITS = re.compile(r"\d+")


def _bare_number(m: re.Match) -> str:
    s, start, end = m.string, m.start(), m.end()
    out = _spoken_number(m["n"])
    if m["neg"]:
        # a minus sign only after a space or bracket; "2-for-1", "COVID-19" keep the hyphen
        out = ("minus " if start == 0 or s[start - 1] in " (\"'/[" else "-") + out
    elif start and s[start - 1].isalpha():
        out = " " + out
    return out + " " if end < len(s) and s[end].isalpha() else out


def _expand_numbers(text: str) -> str:
    text = _NUMERIC_OPS.sub(lambda m: _OPERATOR_WORDS[m[1]], text)
    text = _TIMES.sub(lambda m: f"{_number_words(m[1])} times", text)
    text = _BY.sub(" by ", text)
    text = _RATIO.sub(r"\1 to \2", text)
    text = _SERVICE_NUMBERS.sub(lambda m: m[1] + _digits(m[2]), text)
    text = _VERSION.sub(lambda m: " dot ".join(_int_words(p) for p in m[1].split(".")), text)
    text = _RANGE_BARE.sub(lambda m: f"{_spoken_number(m['a'])} to {_spoken_number(m['b'])}", text)
    text = _NUMBER.sub(_bare_number, text)
    return _LEFTOVER_DIGITS.sub(lambda m: f" {_digits(m.group(0))} ", text)  # safety net


_WITH = re.compile(r"\b[Ww]/(?:(?P<o>o)\b|(?= ?\w))")
_AND_OR = re.compile(r"\band/or\b")
# "yes/no", "he/she": lower-case word pairs read as alternatives
_WORD_SLASH = re.compile(r"\b([a-z]{1,20})/([a-z]{1,20})\b")
_HASHTAG = re.compile(r"#(?=[A-Za-z])")
_SHARP = re.compile(r"\b([A-G])#(?!\w)")
_SYMBOL = re.compile("|".join(re.escape(s) for s in sorted(SYMBOL_WORDS, key=len, reverse=True)))


def _expand_symbols(text: str) -> str:
    text = _WITH.sub(lambda m: "without" if m["o"] else "with ", text)
    text = _AND_OR.sub("and or", text)
    text = _WORD_SLASH.sub(r"\1 or \2", text)
    text = _SHARP.sub(r"\1 sharp", text)
    text = _HASHTAG.sub("hashtag ", text)
    return _SYMBOL.sub(lambda m: SYMBOL_WORDS[m.group(0)], text)


# --------------------------------------------------------------------------
# punctuation tidy-up
# --------------------------------------------------------------------------

_SPACED_DASH = re.compile(r"(?:^| )-+(?= |$)|-{2,}")
_STRAY_HYPHEN = re.compile(r"(?<!\w)-|-(?!\w)")
_STRAY_QUOTE = re.compile(r"(?<!\w)'|'(?!\w)")
_SPACE_BEFORE_PUNCT = re.compile(r" (?=[.,;:!?])")
_PUNCT_RUN = re.compile(r"(?<![.,;:!?])[.,;:!?]{2,}")
_NO_SPACE_AFTER = re.compile(r"(?<=[.,;:!?])(?=[^\s.,;:!?])")
_LEADING_PUNCT = re.compile(r"^[\s.,;:!?]+")


def _collapse_punct(m: re.Match) -> str:
    run = m.group(0)
    for mark in "?!":
        if mark in run:
            return mark
    if set(run) == {"."}:
        return "..." if len(run) >= 3 else "."
    for mark in ".;:":
        if mark in run:
            return mark
    return ","


def _tidy_punctuation(text: str) -> str:
    text = _SPACED_DASH.sub(", ", text)
    text = _STRAY_HYPHEN.sub(" ", text)
    text = _STRAY_QUOTE.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    text = _PUNCT_RUN.sub(_collapse_punct, text)
    text = _NO_SPACE_AFTER.sub(" ", text)
    text = _LEADING_PUNCT.sub("", text)
    return _SPACES.sub(" ", text).strip()


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------

_PASSES = (
    _expand_addresses,  # before anything reads dots, slashes or digits in them
    _expand_phones,  # before ranges ("123-4567") and minus signs
    _expand_dates,  # before fractions ("3/15/2024") and ranges ("2024-03-15")
    _expand_times,  # before abbreviations ("p.m.") and numbers ("3:30")
    _expand_abbreviations,  # before numbers ("No. 5"), needs the original casing
    _expand_money,
    _expand_measures,  # percent, units, temperature
    _expand_roman,
    _expand_fractions_ordinals,
    _expand_numbers,
    _expand_symbols,
)


def normalize_text(text: str) -> str:
    """Spoken-form English for G2P.

    ``text``: any user string (may hold markdown, emoji, control chars).
    Returns words plus sentence punctuation (. , ? ! ; :); digits, symbols and
    quotes are gone; accented Latin and other scripts' letters are kept.
    """
    if not text:
        return ""
    text = _clean_unicode(text)
    text = _join_lines(text)
    text = _SPACES.sub(" ", text)
    for step in _PASSES:
        text = step(text)
    return _tidy_punctuation(text)


_WER_DROP = re.compile(r"[^\w\s]|_")
_WER_FOLD = {"ok": "okay", "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor"}


_ASR_DOTTED_TIME = re.compile(
    r"\b([01]?\d)\.([0-5]\d)(?= ?(?:[ap]\.?m\b\.?|in the (?:morning|afternoon|evening)|at night|o'clock))",
    re.IGNORECASE,
)
# ... and after a word that introduces a clock time ("at 7.30", "until 11.40"),
# which is how Whisper writes a spoken "at seven thirty". A decimal after "at"
# with a unit, a percent sign or a third digit stays a decimal.
_ASR_DOTTED_TIME_AFTER = re.compile(
    r"\b(at|until|till|from|by|before|after|around) ([01]?\d|2[0-3])\.([0-5]\d)\b(?![.,]?\d| ?%)"
    r"(?! ?(?:percent|per cent|times|kilo|kg|km|miles?|metres?|meters?|litres?|liters?|grams?|pounds?|dollars?|euros?))",
    re.IGNORECASE,
)
# "one hundred and eighty" (British, and our references) and "one hundred
# eighty" (how the frontend reads "180") are the same spoken number.
_WER_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety".split()
)
_WER_SCALES = frozenset(("hundred", "thousand", "million", "billion"))
# Contractions written out, as ASR scorers conventionally do: Whisper writes
# "They are" for a spoken "They're" as often as the reverse. "'s" stays
# (possessive or "is": the apostrophe is dropped below, so "it's" == "its").
_WER_CONTRACTIONS = (
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"'d\b"), " would"),
)


def normalize_for_wer(text: str) -> str:
    """Lower-case words only, for scoring ASR output against a reference.

    Both sides go through this, so "$5" and "five dollars" compare equal.
    Contractions are written out ("they're" -> "they are"), hyphens split
    words ("forty-two" -> "forty two"), the remaining apostrophes vanish
    ("it's" == "its": they sound the same), runs of single letters join
    ("F B I" == "FBI"), and the "and" inside a number goes ("one hundred and
    eighty" == "180"). Spellings are unified later, in ``tts.eval.wer``.
    """
    # ASR writes clock times with a dot ("3.30 pm", "6.45 in the morning"):
    # read them as the reference's "3:30", not as decimals.
    text = _ASR_DOTTED_TIME.sub(r"\1:\2", text)
    text = _ASR_DOTTED_TIME_AFTER.sub(r"\1 \2:\3", text)
    text = normalize_text(text).lower()
    for pattern, spelled in _WER_CONTRACTIONS:
        text = pattern.sub(spelled, text)
    text = text.replace("-", " ").replace("'", "")
    words = _WER_DROP.sub(" ", text).split()
    out: list[str] = []
    run: list[str] = []
    for w in words + [""]:
        if len(w) == 1 and w.isalpha():
            run.append(w)
            continue
        if run:
            out.append("".join(run) if len(run) > 1 else run[0])
            run = []
        if w:
            out.append(_WER_FOLD.get(w, w))
    # Drop the "and" of "hundred and eighty" (checked against the word after it).
    kept = [w for i, w in enumerate(out)
            if not (w == "and" and 0 < i < len(out) - 1
                    and out[i - 1] in _WER_SCALES and out[i + 1] in _WER_NUMBER_WORDS)]
    return " ".join(kept)
