"""Did the image render the text the prompt asked for?  The strings a prompt asks for, and how close the text a
vision model read comes to each: normalised edit distance (NED) and word accuracy, GLM-Image's own two headline
metrics for rendered text.

Comparison is CJK-aware: Chinese, Japanese and Korean count character by character (they have no spaces), Latin
text word by word for word accuracy; both sides are normalised first (NFKC, case, punctuation and spaces dropped)
so "Happy New Year!" matches "HAPPY NEW YEAR".  The read text may hold more than the requested string (a poster
has other words), so each string is matched against its closest stretch of the read text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Quoted: "…", “…”, 「…」, 『…』, '…', ‘…’ (a straight apostrophe inside a word, as in "cat's", is not a quote)
_QUOTED = re.compile(r'"([^"\n]{1,200})"|“([^”\n]{1,200})”|「([^」\n]{1,200})」|『([^』\n]{1,200})』'
                     r"|(?<![A-Za-z0-9])'([^'\n]{1,200})'(?![A-Za-z0-9])|‘([^’\n]{1,200})’")
# After a cue word: 写着 / 文字 / 标题 / says / reading, up to the next punctuation
_CUED = re.compile(r"(?:写着|写有|文字(?:是|为)?|标题(?:是|为)?|字样|\bsays\b|\bsaying\b|\breading\b|\breads\b)"
                   r"[\s:：,，]*([^\s\"“”「」『』'‘’,，。.;；:：!！?？、()（）]{1,80}"
                   r"(?:[ ][A-Za-z0-9][^\s\"“”,，。.;；:：!！?？]{0,40}){0,6})", re.IGNORECASE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def requested_texts(prompt: str) -> list[str]:
    """The strings ``prompt`` asks to see rendered, in order, each once: quoted text first, then text after a cue
    word when nothing is quoted (a quoted string after 写着 is found as quoted)."""
    found: list[str] = []
    for match in _QUOTED.finditer(prompt):
        text = next(group for group in match.groups() if group is not None).strip()
        if normalise(text) and text not in found:
            found.append(text)
    if not found:
        for match in _CUED.finditer(prompt):
            text = match.group(1).strip()
            if normalise(text) and text not in found:
                found.append(text)
    return found


def normalise(text: str) -> str:
    """NFKC, lower case, letters and digits only (punctuation, symbols and spaces dropped)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _tokens(text: str) -> list[str]:
    """Words for word accuracy: each CJK character on its own, Latin and digits by runs."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    tokens: list[str] = []
    word = ""
    for ch in folded:
        if _CJK.match(ch):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        elif unicodedata.category(ch)[0] in "LN":
            word += ch
        elif word:
            tokens.append(word)
            word = ""
    if word:
        tokens.append(word)
    return tokens


def distance_within(needle: str, haystack: str) -> int:
    """The fewest edits that turn ``needle`` into some stretch of ``haystack`` (semi-global edit distance: the
    stretch may start and end anywhere, for free)."""
    if not needle:
        return 0
    previous = [0] * (len(haystack) + 1)  # row 0: an empty needle matches anywhere at no cost
    for i, a in enumerate(needle, 1):
        current = [i] + [0] * len(haystack)
        for j, b in enumerate(haystack, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b))
        previous = current
    return min(previous)


@dataclass(frozen=True)
class TextMatch:
    """One requested string against what was read: ``ned`` in 0..1 (1 is exact), ``ok`` when it is exact after
    normalising."""

    wanted: str
    ned: float
    ok: bool

    def to_json(self) -> dict[str, object]:
        return {"wanted": self.wanted, "ned": self.ned, "ok": self.ok}


def compare(wanted: list[str], read: str) -> tuple[list[TextMatch], float | None, float | None]:
    """(one match per requested string, mean NED, word accuracy); the two numbers are None when nothing was
    asked for.  Word accuracy: the share of the requested words (CJK: characters) found among the words read."""
    if not wanted:
        return [], None, None
    seen = normalise(read)
    matches = []
    for text in wanted:
        target = normalise(text)
        edits = distance_within(target, seen)
        ned = round(max(0.0, 1 - edits / len(target)), 3) if target else 1.0
        matches.append(TextMatch(text, ned, edits == 0))
    read_words = _tokens(read)
    pool: dict[str, int] = {}
    for word in read_words:
        pool[word] = pool.get(word, 0) + 1
    hits = total = 0
    for text in wanted:
        for word in _tokens(text):
            total += 1
            if pool.get(word, 0) > 0:
                pool[word] -= 1
                hits += 1
    accuracy = round(hits / total, 3) if total else 1.0
    return matches, round(sum(m.ned for m in matches) / len(matches), 3), accuracy
