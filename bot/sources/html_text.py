"""Plain text from the HTML fragments sources return (comments, posts, feed entries)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4",
               "h5", "h6", "table", "tr", "section", "article", "header", "footer"}
_SKIP_TAGS = {"script", "style", "head", "template"}
_PARA, _LINE = "\x00P\x00", "\x00L\x00"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._anchor: tuple[str, int] | None = None  # (href, index of first part)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
        elif tag == "a":
            self._anchor = (dict(attrs).get("href") or "", len(self.parts))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
        elif tag == "a" and self._anchor is not None:
            href, start = self._anchor
            self._anchor = None
            shown = "".join(self.parts[start:]).strip()
            # Link text shortened for display ("https://example.com/long/pa...") loses
            # the real URL; a reader of the plain text needs the whole one.
            if href and shown.endswith(("...", "…")) and href.startswith(
                    shown.rstrip(".…")[:20]):
                self.parts[start:] = [href]

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Plain text from an HTML fragment: entities unescaped, tags stripped, paragraph
    breaks kept as blank lines, <br> as line breaks, other whitespace collapsed."""
    if not html:
        return ""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = re.sub(r"\s+", " ", "".join(parser.parts))
    text = text.replace(_PARA, "\n\n").replace(_LINE, "\n")
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
