"""Explore's outliers and Score's What if… tables keep their table semantics for screen readers: on a phone their
rows are cards (``table.stack``: display block and grid), which makes some browsers drop the table from the
accessibility tree, so every part of them names its role."""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi.testclient import TestClient
from tests.web.conftest import csrf
from tests.web.test_creator_words import scored

from miles.serve.pages.common import TEMPLATES

ROLES = {"table": "table", "thead": "rowgroup", "tbody": "rowgroup", "tr": "row", "td": "cell"}
HEADER_ROLES = {"thead": "columnheader", "tbody": "rowheader"}  # a <th>'s role by the section it sits in


class StackTables(HTMLParser):
    """Every element of each ``table.stack`` with the role it should carry, and the role it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.section = ""  # thead or tbody
        self.depth = 0  # inside a stack table while > 0
        self.found: list[tuple[str, str | None, str | None]] = []  # (tag, wanted role, role given)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "table" and "stack" in (given.get("class") or "").split():
            self.tables += 1
            self.depth += 1
        elif tag == "table" and self.depth:
            self.depth += 1
        if not self.depth:
            return
        self.section = tag if tag in HEADER_ROLES else self.section
        wanted = HEADER_ROLES[self.section] if tag == "th" else ROLES.get(tag)
        if wanted is not None:
            self.found.append((tag, wanted, given.get("role")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1


def assert_table_roles(page: str) -> StackTables:
    tables = StackTables()
    tables.feed(page)
    assert tables.tables >= 1, "no table.stack in the page"
    wrong = [(tag, wanted, given) for tag, wanted, given in tables.found if given != wanted]
    assert not wrong, f"(element, role wanted, role given): {wrong}"
    return tables


def test_explores_outliers_table_names_its_roles(web: TestClient) -> None:
    tables = assert_table_roles(web.get("/explore", params={"topic": "sourdough"}).text)
    rows = [tag for tag, _, _ in tables.found if tag == "tr"]
    headers = [wanted for tag, wanted, _ in tables.found if tag == "th"]
    assert len(rows) >= 3 and headers.count("columnheader") == 4 and headers.count("rowheader") == len(rows) - 1


def test_the_what_if_table_names_its_roles_ranked_or_not(web: TestClient) -> None:
    form = {"title": "Sourdough in 60 seconds", "duration_s": "45", "alt_title": "Why is my sourdough dense?",
            "alt_hour": "9"}  # fmt: skip
    page = web.post("/score", data={**form, "csrf_token": csrf(web)}, headers={"HX-Request": "true"}).text
    assert_table_roles(page)
    data = scored(web, alt_title="Why is my sourdough dense?", alt_hour="9")
    for alike in (True, False):  # a ranked table has a Rank column (the shipped model ranks none: its versions tie)
        html = TEMPLATES.get_template("_score_result.html").render(
            result=data["result"], figure=data["figure"], live=data["live"], current_user=None, variants_alike=alike
        )
        tables = assert_table_roles(html)
        cells = [tag for tag, _, _ in tables.found if tag in ("th", "td")]
        assert len(cells) >= 2 * len(data["result"]["variants"]), alike
        assert ('role="columnheader">Rank</th>' in html) is not alike
