"""Which sites' links the training labels mark as LINK, learned from the labelled documents.

The link finder (:func:`.rules.find_links`) finds the candidate's links on any site. Labelled
data has its own convention for which of them are LINK entities, and the model should follow
the data it is trained on rather than a list written here. On the DataTurks training split the
annotators mark the Indeed profile URL (on 111 of the 126 resumes) and none of the 16 LinkedIn,
2 GitHub or 4 other links the finder sees; synthetic training data marks every link. Training
records the sites whose links the labels leave unmarked (``metadata["unmarked_link_sites"]``),
and the predictor leaves those out of its LINK entities.

The result document's ``contact.links`` still lists every link of the candidate's own
(:func:`.rules.find_candidate_links`): a recruiter wants the LinkedIn profile whatever the
annotators of one dataset did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .data import LabeledDoc
from .rules import find_candidate_links, link_site
from .text import canonical_link


def unmarked_link_sites(docs: Iterable[LabeledDoc]) -> list[str]:
    """The sites whose found links the labels mostly leave unmarked.

    Per document and site, one observation: is any of the site's found links labelled LINK?
    A site is unmarked when fewer than half of its observations are marked. A site never seen
    keeps its links (the finder's default), and so does one marked half the time."""
    seen: Counter[str] = Counter()
    marked: Counter[str] = Counter()
    for doc in docs:
        if "LINK" not in doc.annotated:
            continue  # partial annotation: an unmarked link there says nothing
        labelled = {canonical_link(doc.text[s:e]) for label, s, e in doc.spans if label == "LINK"}
        by_site: dict[str, bool] = {}
        for _, s, e in find_candidate_links(doc.text):
            site = link_site(doc.text[s:e])
            by_site[site] = by_site.get(site, False) or canonical_link(doc.text[s:e]) in labelled
        for site, is_marked in by_site.items():
            seen[site] += 1
            marked[site] += is_marked
    return sorted(site for site in seen if 2 * marked[site] < seen[site])
