"""Safe YAML with bounds on what a small text may turn into: alias expansion and nesting depth.

Why: aliases let a few hundred bytes stand for billions of nodes ("billion laughs"): PyYAML shares the
aliased objects, but every consumer that walks the result (shape checks, slimming, the snapshot writer)
walks each alias again, and a 642-byte VirtualService took 64 s. libyaml's composer recurses in C without a
depth check: 100k nested brackets crash the interpreter (SIGSEGV). So documents are composed here, in
Python, from libyaml's events (the parsing stays in C; ~20% slower than CSafeLoader on a pod dump), counting
the nodes aliases add and the depth. Beyond either bound the document is refused with a ComposerError, a
yaml.YAMLError that names the line, so every caller's existing YAML error handling reports it.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

# Nodes that aliases may add to one file beyond those written in it. Kubernetes manifests rarely use aliases
# at all (kubectl never writes them); hand-written ones reuse a block a few times, far below this.
MAX_ALIAS_NODES = 100_000
# Nesting levels of one document. Kubernetes objects nest a few dozen levels (CRD schemas the most); the
# bound also keeps the Python composer (three frames per level) well inside the interpreter's recursion limit.
MAX_DEPTH = 200

try:
    from yaml._yaml import CParser as _Parser

    _PARSER_BASES: tuple[type, ...] = (_Parser,)
except ImportError:  # PyYAML without libyaml: the pure-Python reader, scanner and parser
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _PARSER_BASES = (Reader, Scanner, Parser)


# Composer first: libyaml's CParser has a composer of its own (in C, unbounded) that it must not reach.
class BoundedSafeLoader(Composer, *_PARSER_BASES, SafeConstructor, Resolver):  # type: ignore[misc]
    """yaml.SafeLoader's behaviour, refusing alias expansion past MAX_ALIAS_NODES and nesting past MAX_DEPTH."""

    def __init__(self, stream: Any) -> None:
        for base in _PARSER_BASES:
            base.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._nodes = 0  # nodes composed so far, aliases counted at their expanded size
        self._alias_nodes = 0  # of which added by aliases
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its expanded size, once composed

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            anchored = self.anchors.get(event.anchor)
            if anchored is not None:
                size = self._sizes.get(id(anchored))
                if size is None:  # the anchor's own node is still open: a structure that contains itself
                    raise ComposerError(None, None, f"recursive alias *{event.anchor} refused", event.start_mark)
                self._alias_nodes += size
                self._nodes += size
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise ComposerError(None, None, f"aliases expand to more than {MAX_ALIAS_NODES} nodes "
                                        "(an alias bomb?); refused", event.start_mark)
            return super().compose_node(parent, index)  # an undefined alias is refused there
        if self._depth >= MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels; refused",
                                self.peek_event().start_mark)
        anchor = self.peek_event().anchor
        before = self._nodes
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._nodes += 1
        if anchor is not None:
            self._sizes[id(node)] = self._nodes - before
        return node


def safe_load(text: str | bytes) -> Any:
    """yaml.safe_load with the bounds above."""
    return yaml.load(text, Loader=BoundedSafeLoader)  # a SafeConstructor: no arbitrary objects


def safe_load_first(text: str | bytes) -> Any:
    """The first document of `text` with the bounds above, as Go's yaml.Unmarshal (go-yaml v2, under
    sigs.k8s.io/yaml) reads one: the documents after it are neither read nor refused. None for no document."""
    return next(iter(yaml.load_all(text, Loader=BoundedSafeLoader)), None)
