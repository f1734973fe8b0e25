"""Parsing untrusted XML safely, and reading it with every value's element path at hand.

`parse_xml` refuses, before or while parsing: documents above a size limit (bytes), any DTD
(so no entity can be declared: no billion laughs, no external entity, no network access),
undeclared entity references, and elements nested deeper than a depth limit (checked as each
element opens, so a deep document is refused before its tree is built). It uses defusedxml's
parser over expat, which itself never fetches anything.

`Node` wraps an element with its path (`/CEB621Message/Inventory[3]/InventoryList[2]`) so
readers can name, in every problem they report, where in the document it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from clients.adapters.errors import InvalidXml, SourceProblem, XmlTooLarge

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_DEPTH = 32


@dataclass(frozen=True)
class XmlLimits:
    """How big and how deep a document may be. A CEB message is 4 levels deep (6 with an
    XML signature); the default size admits a few thousand inventory lists."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


DEFAULT_LIMITS = XmlLimits()


def local_name(tag: str) -> str:
    """An element's name without its namespace (`{ns}Inventory` -> `Inventory`)."""
    return tag.rsplit("}", 1)[-1]


class _TooDeep(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class _DepthLimited:
    """A tree-builder target that refuses an element opening below `max_depth`."""

    def __init__(self, max_depth: int) -> None:
        self.builder = TreeBuilder()
        self.max_depth = max_depth
        self.open: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self.open.append(local_name(tag))
        if len(self.open) > self.max_depth:
            raise _TooDeep("/" + "/".join(self.open))
        return self.builder.start(tag, attrs)

    def end(self, tag: str) -> Element:
        self.open.pop()
        return self.builder.end(tag)

    def data(self, data: str) -> None:
        self.builder.data(data)

    def close(self) -> Element:
        return self.builder.close()


def _refuse(rule: str, message: str, path: str = "") -> InvalidXml:
    return InvalidXml([SourceProblem(path, rule, message)], "invalid XML")


def parse_xml(data: str | bytes, limits: XmlLimits = DEFAULT_LIMITS) -> Element:
    """The root element of `data`, or InvalidXml (XmlTooLarge) naming the rule it breaks.

    `str` input is parsed as the text it is (an encoding declaration is ignored); `bytes`
    input is decoded as its declaration says (UTF-8 when it says nothing).
    """
    size = len(data)
    if isinstance(data, str) and size <= limits.max_bytes:
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise _refuse("malformed", "the text holds lone surrogates, not characters") from None
    if size > limits.max_bytes:
        raise XmlTooLarge(
            [SourceProblem("", "too_large", f"{size} bytes; at most {limits.max_bytes}")],
            "XML too large",
        )
    target = _DepthLimited(limits.max_depth)
    parser = DefusedXMLParser(
        target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        root: Element = parser.close()
    except DTDForbidden:
        raise _refuse("dtd_forbidden", "a DOCTYPE / DTD is not allowed") from None
    except EntitiesForbidden as exc:
        raise _refuse("entities_forbidden", f"entity {exc.name!r} declared") from None
    except ExternalReferenceForbidden:
        raise _refuse("external_reference_forbidden", "external references are refused") from None
    except _TooDeep as exc:
        raise _refuse(
            "too_deep", f"elements nest deeper than {limits.max_depth} levels", exc.path
        ) from None
    except ParseError as exc:
        line, column = exc.position
        problem = SourceProblem("", "malformed", str(exc), line=line, column=column)
        raise InvalidXml([problem], "invalid XML") from None
    except (UnicodeError, ValueError) as exc:  # a bad byte sequence in a declared encoding
        raise _refuse("malformed", str(exc)) from None
    return root


@dataclass(frozen=True)
class Node:
    """An element of a parsed document with its element path; children are looked up in
    `ns`, the document's namespace. Readers append problems to `problems`."""

    element: Element
    path: str
    ns: str
    problems: list[SourceProblem]

    def _tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def at(self, name: str) -> str:
        """The path of child `name` (whether or not it is there)."""
        return f"{self.path}/{name}"

    def all(self, name: str) -> list[Node]:
        """Every child `name`, as `name[1]`, `name[2]`, ..."""
        return [
            Node(e, f"{self.path}/{name}[{i}]", self.ns, self.problems)
            for i, e in enumerate(self.element.findall(self._tag(name)), start=1)
        ]

    def one(self, name: str, required: bool = True) -> Node | None:
        """Child `name`, which may appear once (a repeat is a problem); None when absent."""
        found = self.element.findall(self._tag(name))
        if len(found) > 1:
            self.report(f"{self.at(name)}[2]", "repeated_element", f"{name} may appear once")
        if not found:
            if required:
                self.report(self.at(name), "missing_element", f"{name} is required here")
            return None
        return Node(found[0], self.at(name), self.ns, self.problems)

    def text(self, name: str) -> str | None:
        """The text of child `name`, stripped of surrounding white space; None when absent
        (the record's own validation then names the missing field)."""
        child = self.one(name, required=False)
        if child is None:
            return None
        return (child.element.text or "").strip()

    def report(self, path: str, rule: str, message: str, field: str | None = None) -> None:
        """Record a problem found while reading."""
        self.problems.append(SourceProblem(path, rule, message, field))


def read_root(
    data: str | bytes,
    name: str,
    ns: str,
    limits: XmlLimits,
    problems: list[SourceProblem],
    prefix: str = "",
) -> Node:
    """Parse `data` and check its root is `{ns}name`; the root Node collects `problems`."""
    element = parse_xml(data, limits)
    if element.tag != f"{{{ns}}}{name}":
        raise _refuse(
            "unexpected_root",
            f"expected {prefix}{name} in namespace {ns}, found {element.tag}",
            "/" + local_name(element.tag),
        )
    return Node(element, "/" + name, ns, problems)
