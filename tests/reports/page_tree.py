"""A small DOM of a report page, parsed like a browser tokenizes it.

``html.parser`` treats <script> and <style> content as raw text up to the first
``</script`` (or ``</style``), as browsers do, so a string that broke out of a script
element would show up here as an extra element, and entities in text and attributes
are decoded, so ``text()`` is what a reader sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(
        self, tag: str | None = None, *, id: str | None = None, cls: str | None = None
    ) -> list[Node]:
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and (id is None or node.attrs.get("id") == id)
            and (cls is None or cls in node.classes)
        ]

    def one(self, tag: str | None = None, *, id: str | None = None, cls: str | None = None) -> Node:
        found = self.find_all(tag, id=id, cls=cls)
        assert len(found) == 1, f"expected one {tag or ''}#{id or ''}.{cls or ''}: {len(found)}"
        return found[0]

    def raw(self) -> str:
        """The element's own text, untouched (the content of a script element)."""
        return "".join(c for c in self.children if isinstance(c, str))

    def text(self) -> str:
        """All text inside, whitespace collapsed."""
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else f" {child.text()} ")
        return " ".join("".join(parts).split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    builder.close()
    return builder.root
