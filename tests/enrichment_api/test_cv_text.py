"""Rich CV → plain text: the rules enrichers rely on (pure, no servers)."""

from __future__ import annotations

import pytest

from vitae.cv_text import CvTextError, delta_to_text, html_to_text, to_plain_text

DELTA = {
    "ops": [
        {"insert": "Jane\u00a0Doe", "attributes": {"bold": True}},
        {"insert": "\n", "attributes": {"header": 1}},
        {"insert": "Senior   engineer\u200b at "},
        {"insert": "Acme", "attributes": {"link": "https://acme.test"}},
        {"insert": "\n\n\n\nSkills\n"},
        {"insert": {"image": "data:image/png;base64,AAAA"}},
        {"insert": "Python"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "PostgreSQL"},
        {"insert": "\n", "attributes": {"list": "bullet"}},
        {"insert": "Led a team of 4"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
        {"insert": "Shipped ﬁve releases"},
        {"insert": "\n", "attributes": {"list": "ordered"}},
    ]
}
DELTA_TEXT = (
    "Jane Doe\nSenior engineer at Acme\n\nSkills\n- Python\n- PostgreSQL\n1. Led a team of 4\n2. Shipped five releases"
)

HTML = """<!doctype html><html><head><title>CV</title><style>p{color:red}</style></head>
<body><h1>Jane&nbsp;Doe</h1>
<p>Senior
   engineer at <a href="https://acme.test">Acme</a> &amp; co<br>Berlin</p>
<script>alert("x")</script>
<h2>Skills</h2><ul><li>Python</li><li><b>PostgreSQL</b></li></ul>
<ol><li>Led a team of 4</li><li>Shipped releases</li></ol>
<table><tr><td>2020</td><td>Acme</td></tr></table></body></html>"""
HTML_TEXT = (
    "Jane Doe\n\nSenior engineer at Acme & co\nBerlin\n\nSkills\n\n- Python\n- PostgreSQL\n\n"
    "1. Led a team of 4\n2. Shipped releases\n\n2020 Acme"
)


def test_delta_keeps_lines_and_list_markers_and_drops_formatting_and_embeds() -> None:
    assert delta_to_text(DELTA) == DELTA_TEXT
    # The bare ops list and the JSON text are accepted too.
    assert delta_to_text(DELTA["ops"]) == DELTA_TEXT
    import json

    assert to_plain_text("delta", json.dumps(DELTA)) == DELTA_TEXT


def test_html_keeps_blocks_and_lists_and_drops_scripts_styles_and_markup() -> None:
    assert html_to_text(HTML) == HTML_TEXT


@pytest.mark.parametrize(
    "bad",
    [{"ops": "nope"}, {"ops": [{"retain": 3}]}, {"ops": [{"insert": "x", "attributes": []}]}, "{not json"],
)
def test_invalid_delta_is_refused(bad: object) -> None:
    with pytest.raises(CvTextError):
        to_plain_text("delta", bad)  # type: ignore[arg-type]
