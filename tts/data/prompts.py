"""English prompt text for the teacher corpus.

Two sources, mixed:
- Debian's ``fortunes`` packages (``apt-get install fortunes fortunes-min``):
  real sentences of every register, cut into single sentences and filtered.
- Generated voice-agent sentences: what users of a TTS service will actually
  send (times, dates, prices, phone numbers, confirmations, questions, names),
  so the student hears the frontend's number and symbol readings often.

Everything is seeded, so the prompt list is the same on every machine and a
resumed build picks up exactly where it stopped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

from ..text.symbols import PHRASE_END_MARKS

FORTUNE_DIRS = (Path("/usr/share/games/fortunes"),)
# Offensive or formatting-heavy collections add nothing a voice agent says.
_SKIP_COLLECTIONS = {"art", "ascii-art", "off", "debian", "linux", "perl", "songs-poems", "zippy", "startrek"}

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_GOOD_CHARS = re.compile(r"^[A-Za-z0-9 ,.;:!?'\"()$%&-]+$")

MIN_WORDS, MAX_WORDS, MAX_CHARS = 4, 32, 220


def fortune_sentences() -> list[str]:
    """Clean single sentences from the installed fortune files (may be empty)."""
    seen: set[str] = set()
    out: list[str] = []
    for root in FORTUNE_DIRS:
        if not root.is_dir():
            continue
        for path in sorted(root.iterdir()):
            if path.suffix or path.name in _SKIP_COLLECTIONS or not path.is_file():
                continue  # .dat / .u8 are indexes and links
            text = path.read_text(encoding="utf-8", errors="ignore")
            for fortune in text.split("\n%\n"):
                for sentence in _sentences(fortune):
                    if sentence not in seen:
                        seen.add(sentence)
                        out.append(sentence)
    return out


def _sentences(fortune: str) -> Iterator[str]:
    # Attributions ("-- Mark Twain") and indented verse are not prose.
    lines = [ln for ln in fortune.splitlines() if ln.strip() and not ln.lstrip().startswith(("--", "-"))]
    if any(ln.startswith(("\t", "    ")) for ln in lines):
        return
    body = " ".join(ln.strip() for ln in lines)
    for sentence in _SENTENCE.split(body):
        sentence = sentence.strip()
        words = sentence.split()
        if not (MIN_WORDS <= len(words) <= MAX_WORDS) or len(sentence) > MAX_CHARS:
            continue
        if not _GOOD_CHARS.match(sentence) or sentence[-1] not in PHRASE_END_MARKS:
            continue
        if sentence.count('"') % 2 or sentence.count("(") != sentence.count(")"):
            continue
        yield sentence


# --- generated voice-agent sentences -------------------------------------

_FIRST = ["Maria", "James", "Aisha", "Chen", "Olivia", "Liam", "Priya", "Noah", "Sofia", "Ethan", "Fatima",
          "Lucas", "Hannah", "Mateo", "Grace", "Daniel", "Yuki", "Omar", "Emma", "Jack", "Zoe", "Samuel"]
_LAST = ["Johnson", "Garcia", "Patel", "Nguyen", "Smith", "Okafor", "Kim", "Rossi", "Müller", "Brown",
         "Martinez", "Walsh", "Cohen", "Singh", "Lopez", "Taylor", "Anderson", "Murphy"]
_PLACES = ["the downtown office", "Gate 14", "the pharmacy on Main St.", "Terminal B", "the front desk",
           "our Springfield branch", "Room 305", "the north entrance", "Platform 9", "the service center"]
_ITEMS = ["large pepperoni pizza", "pair of running shoes", "monthly subscription", "hotel room", "oil change",
          "flight to Denver", "dental cleaning", "wireless headset", "table for four", "premium plan"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "tomorrow", "today"]
_MONTHS = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]

_TEMPLATES = [
    "Your appointment with Dr. {last} is on {day} at {time}.",
    "Hi {first}, your order of one {item} comes to {price}.",
    "The total, including tax, is {price}. Would you like to pay now?",
    "I can book you for {time} on {day}. Does that work for you?",
    "Please call us back at {phone} if anything changes.",
    "Your confirmation number is {code}.",
    "Flight {flight} to {city} now departs at {time} from {place}.",
    "The {item} you asked about is on sale for {price}, down {pct} from last week.",
    "Thanks, {first}! I've moved your reservation to {month} {dom}.",
    "Sorry, I didn't catch that. Could you repeat the last {n} digits?",
    "It's {temp} degrees and sunny in {city} right now.",
    "Your package shipped on {month} {dom} and should arrive in {n} to {n2} business days.",
    "Is this {first} {last}? I'm calling about your {item}.",
    "You have {n} new messages. The first one is from {first}.",
    "Your balance is {price}, and your next payment is due on the {ordinal}.",
    "We open at {time} and close at {time2}, Monday through Friday.",
    "Turn left onto Oak Ave. in {miles} miles, then continue for {feet} feet.",
    "Can I get your date of birth and the last four digits of your phone number?",
    "Great, {first}. I've added {n} items to your cart, for {price} in total.",
    "The wait time is about {n} minutes. Would you like a callback at {phone}?",
    "In {year}, we served more than {big} customers across {n} countries.",
    "Your score was {pct}, which puts you in the top {n} percent.",
    "Meet {first} at {place} at {time}, and bring your ID.",
    "Do you want the {item} delivered to {street}?",
    "What time works best for you on {day}, {first}?",
    "Press {digit} to speak with an agent, or stay on the line.",
]

_CITIES = ["Boston", "Chicago", "Seattle", "Austin", "London", "Toronto", "Dublin", "Phoenix", "Atlanta",
           "San Francisco", "New York", "Edinburgh", "Sydney", "Vancouver"]


def _fill(template: str, rng: random.Random) -> str:
    hour = rng.randint(1, 12)
    minute = rng.choice([0, 0, 15, 30, 45, rng.randint(1, 59)])
    ampm = rng.choice(["am", "pm", "a.m.", "p.m.", "AM", "PM"])

    def clock(h: int, m: int) -> str:
        return f"{h}:{m:02d} {ampm}" if m else f"{h} {ampm}"

    dollars = rng.choice([rng.randint(1, 99), rng.randint(100, 2500)])
    cents = rng.choice([0, 99, 50, rng.randint(1, 98)])
    values = {
        "first": rng.choice(_FIRST),
        "last": rng.choice(_LAST),
        "place": rng.choice(_PLACES),
        "item": rng.choice(_ITEMS),
        "day": rng.choice(_DAYS),
        "month": rng.choice(_MONTHS),
        "dom": rng.choice([str(rng.randint(1, 28)), f"{rng.randint(1, 28)}th", "1st", "2nd", "3rd", "21st"]),
        "time": clock(hour, minute),
        "time2": clock(rng.randint(1, 12), rng.choice([0, 30])),
        "price": f"${dollars:,}.{cents:02d}" if cents else f"${dollars:,}",
        "pct": f"{rng.choice([5, 10, 12.5, 15, 20, 25, 33, 40, 50, 75, 99])}%",
        "phone": rng.choice([f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
                             f"{rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"]),
        "code": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)),
        "flight": f"{rng.choice(['UA', 'BA', 'DL', 'AC'])} {rng.randint(10, 2999)}",
        "city": rng.choice(_CITIES),
        "n": str(rng.randint(2, 9)),
        "n2": str(rng.randint(10, 14)),
        "temp": str(rng.randint(-5, 95)),
        "ordinal": rng.choice(["1st", "5th", "15th", "22nd", "30th", "3rd"]),
        "miles": rng.choice(["0.5", "2", "1.3", "12"]),
        "feet": str(rng.choice([300, 500, 800, 1200])),
        "year": str(rng.randint(1995, 2026)),
        "big": f"{rng.randint(2, 900) * 1000:,}",
        "street": f"{rng.randint(1, 9999)} {rng.choice(['Maple', 'Cedar', 'Elm', 'Park', 'Lake'])} "
                  f"{rng.choice(['St.', 'Ave.', 'Rd.', 'Blvd.', 'Lane'])}",
        "digit": str(rng.randint(0, 9)),
    }
    return template.format(**values)


def agent_sentences(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [_fill(rng.choice(_TEMPLATES), rng) for _ in range(count)]


def prompt_list(seed: int = 1234, agent_fraction: float = 0.3) -> list[str]:
    """The full, deterministic prompt list: fortunes and agent sentences interleaved."""
    prose = fortune_sentences()
    n_agent = max(2000, int(len(prose) * agent_fraction / (1 - agent_fraction)))
    prompts = prose + agent_sentences(n_agent, seed)
    random.Random(seed).shuffle(prompts)
    return prompts


def eval_sentences() -> set[str]:
    """Every line of the shipped evaluation sets (tts/assets/sentences_*.txt)."""
    from ..eval.sentences import parse_sentences
    from ..paths import ASSETS

    return {line for path in sorted(ASSETS.glob("sentences_*.txt"))
            for line in parse_sentences(path.read_text(encoding="utf-8"))}


# --- short replies -----------------------------------------------------------
# The two lists above hold sentences of 4 to 32 words, so a student trained on
# them never hears a phrase end two syllables after it starts. Asked for
# "Thanks." it kept talking ("Thank you so much."), and "Hello!" came out as
# "Hello there": half the renders of one-word replies were misheard. A voice
# agent says such replies all the time, so they get a list of their own.

_REPLIES = [
    "Hello", "Hi", "Hi there", "Hey", "Hello there", "Good morning", "Good afternoon", "Good evening",
    "Welcome back", "Welcome", "Yes", "No", "Okay", "Sure", "Of course", "Got it", "Right", "Exactly",
    "Absolutely", "Certainly", "Alright", "Perfect", "Great", "Sounds good", "No problem", "Will do",
    "Understood", "Done", "Noted", "Correct", "Not quite", "Maybe", "I see", "Fine", "Agreed", "Nice",
    "Thanks", "Thank you", "Thanks a lot", "Thank you so much", "Many thanks", "You're welcome",
    "Goodbye", "Bye", "Bye for now", "See you soon", "Take care", "Have a nice day", "Cheers", "Good night",
    "One moment", "Just a second", "Hold on", "Let me check", "Please wait", "Almost there", "All set",
    "Anything else", "How can I help", "Ready", "Sorry", "Pardon", "Which one", "When", "Where", "Why not",
    "Is that right", "Shall I continue", "Really", "Are you sure", "What else", "How many", "Got a minute",
    "Excuse me", "My apologies", "Congratulations", "Happy birthday", "Well done", "Good luck", "Oops",
    "Wonderful", "Lovely", "Brilliant", "Interesting", "Definitely", "Probably", "Not yet", "Never mind",
    "Go ahead", "Please continue", "Try again", "Next", "Confirmed", "Cancelled", "Booked", "Delivered",
]
_WORDS = [
    "Coffee", "Tea", "Water", "Pizza", "Tickets", "Dinner", "Breakfast", "Tomorrow", "Tonight", "Today",
    "Yesterday", "Morning", "Evening", "Weekend", "Receipt", "Invoice", "Password", "Account", "Address",
    "Email", "Phone", "Address book", "Weather", "Music", "Traffic", "Parking", "Checkout", "Payment",
    "Refund", "Delivery", "Pickup", "Table", "Window seat", "Aisle", "Red", "Blue", "Green", "Yellow",
    "Black", "White", "Small", "Medium", "Large", "Extra large", "Left", "Right", "Upstairs", "Downstairs",
    "North", "South", "East", "West", "Spring", "Summer", "Autumn", "Winter", "Apple", "Banana", "Orange",
    "Bread", "Cheese", "Milk", "Chocolate", "Garden", "Kitchen", "Office", "Station", "Airport", "Hospital",
    "Library", "Museum", "Bridge", "River", "Mountain", "Beach", "Forest", "Island", "Village", "Castle",
]
_NUMBER_WORDS = ["Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
                 "Eleven", "Twelve", "Twenty", "Fifty", "A hundred"]


def short_replies(count: int = 700, seed: int = 7) -> list[str]:
    """``count`` distinct replies of one to four words, each ending in . ! or ?, deterministic.

    Bare replies, replies with a name ("Thanks, Maria!"), single words (nouns,
    names, cities, days, months, numbers as digits and as words) and two-word
    pairs ("Blue, please."). Replies that are questions always end in "?".
    """
    rng = random.Random(seed)
    singles = _WORDS + _FIRST + _CITIES + [d.capitalize() for d in _DAYS] \
        + [m for m in _MONTHS if not m.endswith(".")] + _NUMBER_WORDS + [str(n) for n in range(0, 101, 7)]
    questions = {"Anything else", "How can I help", "Ready", "Sorry", "Pardon", "Which one", "When", "Where",
                 "Why not", "Is that right", "Shall I continue", "Really", "Are you sure", "What else",
                 "How many", "Got a minute"}

    def mark(text: str) -> str:
        if text in questions:
            return "?"
        return rng.choice("..!?" if len(text.split()) == 1 else "..!")

    out: list[str] = []
    seen: set[str] = set(eval_sentences())  # never train on a line the evaluation speaks
    # Every bare reply once, so each appears however small ``count`` is (up to the list's size).
    candidates = [r + mark(r) for r in _REPLIES]
    while len(out) < count:
        if candidates:
            text = candidates.pop(0)
        else:
            kind = rng.random()
            if kind < 0.35:
                r = rng.choice(_REPLIES)
                text = f"{r}, {rng.choice(_FIRST)}" + mark(r)
            elif kind < 0.75:
                w = rng.choice(singles)
                text = w + rng.choice("..?!")
            else:
                tag = rng.choice(["please", "thanks", "right", "maybe"])
                text = f"{rng.choice(singles)}, {tag}" + ("?" if tag == "right" else rng.choice("..!"))
        if text not in seen and 1 <= len(text.split()) <= 4:
            seen.add(text)
            out.append(text)
    return out
