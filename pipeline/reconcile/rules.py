"""Every threshold of the reconcile stage, in one place; docs/reconcile.md explains each one
and a test checks that the document quotes these values."""

from __future__ import annotations

# A changed stretch of words is a respelling ("modelling"/"modeling", "LLM"/"LLMs") when its
# words, joined, score at least this against the other side's (rapidfuzz ratio, 0..100).
SPELLING_BLOCK_SIMILARITY = 80.0

# A title-search candidate whose title differs only in spelling is accepted from this whole-
# title similarity on, when something else agrees (authors, or the date when no authors).
NEAR_SIMILARITY = 90.0

# A candidate whose title differs by whole words (or a negation/number) needs the authors to
# agree, and at least this similarity: below it, even agreeing authors name another paper
# (a sequel, a follow-up by the same group).
WORDS_SIMILARITY = 80.0

# The digest's own link is kept despite reworded titles (renamed in a later version,
# shortened by the digest) from this similarity on, or when the titles are related (shared
# name before the colon, or one title a whole-word stretch of the other). Unrelated titles
# of two papers score 25..60.
LINK_RELATED_SIMILARITY = 70.0

# "Sa2VA: ..." and "Sa2VA: ..." share a name; one- and two-letter heads ("A: ...") do not.
MIN_HEAD_CHARS = 3
# A name is at most this many words ("3D Diffuser Actor"); a longer head is a title's first half.
MAX_NAME_WORDS = 4
# An entry labels itself with a paper's name within this many words before its title
# (`* **ManiCM**: "..."`, `[12] **ManiCM** - ...`); further away it names another paper.
LABEL_WORDS = 6
# A shortened title must keep at least this many characters to count as a stretch of the
# full one ("Cosmos" of "Cosmos World Foundation Model Platform for Physical AI").
MIN_SHORTENED_CHARS = 6

# Authors agree when at least this share of the digest's listed authors are on arXiv.
AUTHOR_AGREEMENT = 0.5

# A paper cannot appear in a digest dated before its v1 `published` (docs/arxiv.md §4:
# published is the v1 submission time, UTC). One day of slack, because the digest's date is
# a local date and `published` a UTC timestamp.
DATE_TOLERANCE_DAYS = 1

# A title the digest cut short ("... With Meta Chain-of-Though", "... Elicits Reas…") counts
# as arXiv's title when it keeps at least this share of the normalised title's characters
# from its start (the last word may be cut inside); shorter starts name too many papers.
CUT_TITLE_SHARE = 0.6
# ... and at least this many words: "Learning to See" may be a whole title, not a cut one.
CUT_TITLE_MIN_WORDS = 4

# Authors written in the entry's text corroborate a link when the first author is among
# them, or at least this many of arXiv's authors are.
BLOCK_AUTHOR_MATCHES = 2

# A guessed title (weak source) that disagrees with its link is searched when it has at least
# this many words; a paper of exactly that title then replaces the link. Shorter guesses
# ("ReAct", "PPO", "papers to read") name too many papers or none.
WEAK_TITLE_WORDS = 4
