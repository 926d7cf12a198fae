"""A small DOM from the standard library's html.parser, to assert on the pages' structure (the grading's pages:
tests/unit/test_gradebook.py, tests/unit/test_similarity.py): `parse` a page into Nodes, `self_contained` checks
it fetches nothing."""
from __future__ import annotations

import html.parser
from dataclasses import dataclass, field

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list = field(default_factory=list)  # Node or str

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.walk()

    def all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and all(n.attrs.get(k) == v for k, v in attrs.items())]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs) -> Node:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} class={cls} {attrs}>"
        return found[0]


class Tree(html.parser.HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.feed(text)
        self.close()
        assert [n.tag for n in self.stack] == ["#document"], f"unclosed: {[n.tag for n in self.stack]}"

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag):
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(text: str) -> Node:
    return Tree(text).root


def self_contained(page: Node) -> None:
    """No external URL, and no script but the base page's own."""
    for n in page.walk():
        for name in ("href", "src", "action", "xlink:href"):
            value = n.attrs.get(name)
            assert value is None or ":" not in value.split("/", 1)[0] and not value.startswith("//"), value
    assert len(page.all("script")) == 1 and not page.one("script").attrs
