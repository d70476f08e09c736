#!/usr/bin/env python3
"""The documentation's links (a step of `make test` and `make check`): every relative link in
README.md, docs/*.md and bench/RESULTS.md must point to a file or folder that exists, and a link
with a `#anchor` into a Markdown file to one of its headings, named as GitHub names them
(lower case, punctuation dropped, spaces as hyphens, `-1`, `-2` … for repeated headings).
Links in code blocks and code spans are not links; links with a scheme (https:, mailto:) are not
checked. Prints each broken link with its file and line and exits 1; Python's standard library
only, so it runs anywhere in a second.

Usage: scripts/check-docs.py [FILE.md ...]   (default: the files above)"""
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["README.md", "docs/*.md", "bench/RESULTS.md"]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# [text](target) and ![alt](target); the target up to the first space (a title may follow).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+\"[^\"]*\")?\s*\)")
HTML_SRC = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.I)
REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def slug(heading):
    """GitHub's anchor for a heading's text: inline Markdown reduced to its text, lower case,
    every character but letters, digits, marks, `-`, `_` and spaces dropped, spaces as hyphens."""
    text = CODE_SPAN.sub(lambda m: m.group(2).strip(), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = re.sub(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1", r"\2", text)  # emphasis
    kept = [c for c in text.lower() if c in " -_" or unicodedata.category(c)[0] in "LNM"]
    return "".join(kept).replace(" ", "-")


def outside_code(lines):
    """(line number, text) for each line that is not inside a fenced code block, code spans
    blanked; fence lines themselves are skipped."""
    fence = None
    for number, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip(" `~"):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        yield number, CODE_SPAN.sub(lambda m: "`" + "x" * len(m.group(2)) + "`", line)


def headings(path, cache={}):
    """The anchors of a Markdown file's headings (ATX and setext, outside code blocks), numbered
    as GitHub numbers repeated ones."""
    if path in cache:
        return cache[path]
    seen, found, previous = {}, set(), ""
    raw = path.read_text(encoding="utf-8").splitlines()
    fence = None
    for line in raw:
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip(" `~"):
                fence = None
            previous = ""
            continue
        if m:
            fence = m.group(1)
            previous = ""
            continue
        text = None
        h = ATX.match(line)
        if h:
            text = h.group(2)
        elif (re.match(r"^ {0,3}(=+|-+)[ \t]*$", line) and previous.strip()
              and not previous.lstrip().startswith(("|", "-", "*", ">", "#"))):
            text = previous.strip()
        previous = line
        if text is None:
            continue
        base = slug(text)
        n = seen.get(base, 0)
        found.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    cache[path] = found
    return found


def links(path):
    """(line number, target) for every link of the file outside code."""
    for number, line in outside_code(path.read_text(encoding="utf-8").splitlines()):
        for m in INLINE_LINK.finditer(line):
            yield number, m.group(1).strip("<>")
        for m in HTML_SRC.finditer(line):  # <img src="…"> and <a href="…"> in the Markdown
            yield number, m.group(1)
        m = REFERENCE_DEF.match(line)
        if m:
            yield number, m.group(1).strip("<>")


def problems(path):
    found = []
    for number, target in links(path):
        if SCHEME.match(target) or target.startswith("//"):
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}:{number}: ({target})"
        if not dest.exists():
            found.append(f"{where}: no such file: {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
        elif anchor and dest.is_file() and dest.suffix == ".md" and anchor not in headings(dest):
            found.append(f"{where}: {dest.relative_to(ROOT)} has no heading with the anchor #{anchor}")
    return found


def self_test():
    """GitHub's anchors for headings of the kinds these pages use."""
    cases = {
        "Choosing a flow: implicit or code + PKCE": "choosing-a-flow-implicit-or-code--pkce",
        "In front of `cargo lambda watch`": "in-front-of-cargo-lambda-watch",
        "config.json": "configjson",
        "Step 1: the Auth0 tenant, from tenant.yaml": "step-1-the-auth0-tenant-from-tenantyaml",
        "The pattern, step by step (dev tenant and real Auth0)": "the-pattern-step-by-step-dev-tenant-and-real-auth0",
        "After `make run`": "after-make-run",
        "2026-11-27 — `make soak` (recorded in f2d8997)": "2026-11-27--make-soak-recorded-in-f2d8997",
        "**Bold** and [a link](x.md)": "bold-and-a-link",
    }
    wrong = [f"slug({h!r}) = {slug(h)!r}, GitHub: {s!r}" for h, s in cases.items() if slug(h) != s]
    if wrong:
        sys.exit("check-docs.py: its anchor rules are wrong:\n  " + "\n  ".join(wrong))


def main(args):
    self_test()
    files = [Path(a).resolve() for a in args] or sorted(
        {p for pattern in DEFAULT for p in ROOT.glob(pattern)})
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        sys.exit(f"check-docs.py: no such file: {', '.join(missing)}")
    found = [p for f in files for p in problems(f)]
    checked = sum(1 for f in files for _ in links(f))
    if found:
        print(f"broken links ({len(found)}):", *found, sep="\n  ", file=sys.stderr)
        return 1
    print(f"docs: {checked} links in {len(files)} files, every relative one found")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
