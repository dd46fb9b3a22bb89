# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure parser, renderer and planner for libvirt's configuration syntax.

``qemu.conf``, ``libvirtd.conf``, ``virtqemud.conf`` and friends share one
syntax (libvirt's ``virconf.c``): ``name = value`` entries separated by
newlines or ``;``, values that are strings (``"…"``, ``'…'`` or ``\"\"\"…\"\"\"``,
no escapes), integers, or lists ``[v, v, ...]`` that may span lines and hold
comments; ``#`` starts a comment.

The planner edits text, not a model of it: it replaces or removes only the
character spans of the entries it is told about and inserts new entries next
to the distribution's commented-out example of the same key, so comments,
blank lines and every other entry stay byte for byte. Several roles can
therefore each own a few keys of the same file without fighting.
"""

from __future__ import annotations

import re

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

CONF = "libvirt config"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_INT = re.compile(r"[-+]?[0-9]+")


class Entry:
    """One ``name = value`` of a file: where it is (``start``/``end`` character offsets) and its value."""

    __slots__ = ("name", "value", "start", "end")

    def __init__(self, name, value, start, end):
        self.name = name
        self.value = value
        self.start = start
        self.end = end


class _Scanner:
    def __init__(self, text, label):
        self.text = text
        self.pos = 0
        self.label = label

    def error(self, what):
        line = self.text.count("\n", 0, self.pos) + 1
        raise KvmopsError(CONF, self.label, f"line {line}: {what}")

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_blanks(self, newlines):
        """Skip spaces and tabs (and newlines, comments when ``newlines``)."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif newlines and char == "#":
                self.skip_comment()
            else:
                return

    def skip_comment(self):
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def name(self):
        match = _NAME.match(self.text, self.pos)
        if not match:
            self.error(f"expected a setting name, found {self.text[self.pos : self.pos + 20]!r}")
        self.pos = match.end()
        return match.group()

    def string(self):
        for quote in ('"""', '"', "'"):
            if self.text.startswith(quote, self.pos):
                end = self.text.find(quote, self.pos + len(quote))
                if end < 0 or (len(quote) == 1 and "\n" in self.text[self.pos : end]):
                    self.error("unterminated string")
                value = self.text[self.pos + len(quote) : end]
                self.pos = end + len(quote)
                return value
        return None

    def value(self):
        if self.peek() == "[":
            opening = self.pos
            self.pos += 1
            items = []
            self.skip_blanks(newlines=True)
            while self.peek() != "]":
                items.append(self.scalar())
                self.skip_blanks(newlines=True)
                if not self.peek():
                    self.pos = opening
                    self.error("list not closed with ']'")
                if self.peek() == ",":
                    self.pos += 1
                    self.skip_blanks(newlines=True)
                elif self.peek() != "]":
                    self.error("expected ',' or ']' in a list")
            self.pos += 1
            return items
        return self.scalar()

    def scalar(self):
        text = self.string()
        if text is not None:
            return text
        match = _INT.match(self.text, self.pos)
        if not match:
            self.error(f"expected a string, an integer or a list, found {self.text[self.pos : self.pos + 20]!r}")
        self.pos = match.end()
        return int(match.group())


def parse(text, label="<text>"):
    """All entries of a config file's text, in order; KvmopsError naming the line on a syntax error."""
    scanner = _Scanner(text, label)
    entries = []
    while True:
        scanner.skip_blanks(newlines=True)
        if not scanner.peek():
            return entries
        if scanner.peek() == ";":
            scanner.pos += 1
            continue
        start = scanner.pos
        name = scanner.name()
        scanner.skip_blanks(newlines=False)
        if scanner.peek() != "=":
            scanner.error(f"expected '=' after {name}")
        scanner.pos += 1
        scanner.skip_blanks(newlines=False)
        value = scanner.value()
        entries.append(Entry(name, value, start, scanner.pos))
        scanner.skip_blanks(newlines=False)
        if scanner.peek() == "#":
            scanner.skip_comment()
        if scanner.peek() not in ("\n", ";", ""):
            scanner.error(f"unexpected text after the value of {name}")


def values(text, label="<text>"):
    """``{name: value}`` of a file's text; where a name repeats, the last entry wins as in libvirt."""
    return {entry.name: entry.value for entry in parse(text, label)}


def normalise_value(name, value):
    """A setting's value as libvirt will read it back: booleans become 1/0.

    Raises KvmopsError for what the syntax cannot hold (dicts, floats, nested
    lists, strings with a newline or with both quote kinds).
    """
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if "\n" in value or ('"' in value and "'" in value):
            raise KvmopsError(CONF, name, "a string may not hold a newline or both quote kinds")
        return value
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if isinstance(item, (list, tuple, dict)) or item is None:
                raise KvmopsError(CONF, name, "list items must be strings, integers or booleans")
            items.append(normalise_value(name, item))
        return items
    raise KvmopsError(CONF, name, f"a {type(value).__name__} cannot be written; use a string, integer, boolean or list")


def render_value(value):
    """libvirt syntax of a normalised value."""
    if isinstance(value, list):
        return "[" + ", ".join(render_value(item) for item in value) + "]"
    if isinstance(value, int):
        return str(value)
    quote = "'" if '"' in value else '"'
    return f"{quote}{value}{quote}"


def render_entry(name, value):
    return f"{name} = {render_value(value)}"


def _line_bounds(text, start, end):
    """Start of the line holding ``start`` and end (after the newline) of the line holding ``end``."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end + 1


def _removal_span(text, entry):
    """The span to delete for an entry: its whole line(s) when nothing else is on them, else just the entry."""
    line_start, line_end = _line_bounds(text, entry.start, entry.end)
    before = text[line_start : entry.start]
    after = text[entry.end : line_end].strip()
    if not before.strip() and (not after or after.startswith("#")):
        return line_start, line_end
    return entry.start, entry.end


def _example_insertion_point(text, name):
    """Offset just after the last commented-out ``#name = …`` example, or None when the file has none."""
    examples = list(re.finditer(rf"(?m)^#[ \t]*{re.escape(name)}[ \t]*=", text))
    if not examples:
        return None
    match = examples[-1]
    pos = text.find("\n", match.start())
    first = text[match.end() : len(text) if pos < 0 else pos]
    # A commented-out list that opens on this line and does not close here
    # spans the following "#" lines up to the one holding "]"; any other
    # example is one line (the next "#key = …" is another setting's example).
    if "[" in first and "]" not in first:
        while pos >= 0 and text.startswith("#", pos + 1):
            end = text.find("\n", pos + 1)
            closes = "]" in text[pos + 1 : len(text) if end < 0 else end]
            pos = end
            if closes:
                break
    return len(text) if pos < 0 else pos + 1


class Change:
    __slots__ = ("name", "action", "before", "after")

    def __init__(self, name, action, before, after):
        self.name = name
        self.action = action
        self.before = before
        self.after = after

    def as_dict(self):
        return {"name": self.name, "action": self.action, "before": self.before, "after": self.after}


def plan(text, settings, label="<text>"):
    """The new text and the changes that make ``text`` hold ``settings``.

    ``settings`` maps names to values; a value of None removes every entry of
    that name. A name already holding the wanted value, exactly once, is left
    untouched (so its formatting and trailing comment stay). Returns
    ``(new_text, [Change, ...])``; no changes means ``new_text == text``.
    """
    wanted = {name: (None if value is None else normalise_value(name, value)) for name, value in settings.items()}
    entries = parse(text, label)
    by_name = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)

    edits = []  # (start, end, replacement); spans never overlap
    inserts = {}  # offset -> [lines]
    changes = []
    for name, value in wanted.items():
        found = by_name.get(name, [])
        current = found[-1].value if found else None
        if value is None:
            if found:
                edits.extend((*_removal_span(text, entry), "") for entry in found)
                changes.append(Change(name, "remove", current, None))
            continue
        if len(found) == 1 and found[0].value == value:
            continue
        if found:
            edits.append((found[0].start, found[0].end, render_entry(name, value)))
            edits.extend((*_removal_span(text, entry), "") for entry in found[1:])
            changes.append(Change(name, "set", current, value))
        else:
            point = _example_insertion_point(text, name)
            inserts.setdefault(len(text) if point is None else point, []).append(render_entry(name, value))
            changes.append(Change(name, "add", None, value))

    for point, lines in inserts.items():
        prefix = "\n" if point == len(text) and text and not text.endswith("\n") else ""
        edits.append((point, point, prefix + "".join(line + "\n" for line in lines)))
    new_text = text
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        new_text = new_text[:start] + replacement + new_text[end:]
    return new_text, changes
