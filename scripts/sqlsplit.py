#!/usr/bin/env python3
"""scripts/sqlsplit.py -- split SQL scripts into top-level statements.

Used by test/shell/sql_layout.sh (which object is defined where) and handy to
inspect the release chain:  python3 scripts/sqlsplit.py FILE... prints one line
per statement (file:line, object key or statement head).
"""
import re
import sys

DOLLAR = re.compile(r'\$([A-Za-z_][A-Za-z_0-9]*)?\$')


def split(text):
    """Yield (start_line, comment, statement) for every top-level statement.
    comment is the block of comment lines right before the statement (after
    a blank line or the previous statement)."""
    i, n = 0, len(text)
    start = None          # offset of the current statement's first token
    comment_start = None  # offset of the comment block before it
    prev_word = ''        # the last keyword-like word of the statement
    atomic = 0            # nesting depth inside BEGIN ATOMIC ... END
    while i < n:
        c = text[i]
        if c in ' \t\r\n':
            if c == '\n' and start is None and comment_start is not None:
                # a blank line ends a comment block that is not attached
                j = i + 1
                while j < n and text[j] in ' \t\r':
                    j += 1
                if j < n and text[j] == '\n':
                    comment_start = None
            i += 1
            continue
        if text.startswith('--', i):
            e = text.find('\n', i)
            e = n if e < 0 else e
            if start is None and comment_start is None:
                comment_start = i
            i = e
            continue
        if text.startswith('/*', i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith('/*', j):
                    depth += 1; j += 2
                elif text.startswith('*/', j):
                    depth -= 1; j += 2
                else:
                    j += 1
            if start is None and comment_start is None:
                comment_start = i
            i = j
            continue
        if start is None:
            start = i
            if text.startswith('\\', i):   # psql meta-command: to end of line
                e = text.find('\n', i)
                e = n if e < 0 else e
                yield (text.count('\n', 0, i) + 1,
                       text[comment_start:i].rstrip() if comment_start is not None else '',
                       text[i:e].strip())
                start = comment_start = None
                i = e
                continue
        if c == "'":
            j = i + 1
            backslash = i > 0 and text[i - 1] in 'eE' and (i < 2 or not text[i - 2].isalnum())
            while j < n:
                if backslash and text[j] == '\\':
                    j += 2; continue
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        j += 2; continue
                    break
                j += 1
            i = j + 1
            continue
        if c == '"':
            j = text.find('"', i + 1)
            while j >= 0 and text.startswith('""', j):
                j = text.find('"', j + 2)
            i = n if j < 0 else j + 1
            continue
        if c == '$':
            m = DOLLAR.match(text, i)
            if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == '_')):
                tag = m.group(0)
                e = text.find(tag, m.end())
                i = n if e < 0 else e + len(tag)
                continue
        if c.isalpha() or c == '_':
            j = i
            while j < n and (text[j].isalnum() or text[j] in '_$'):
                j += 1
            word = text[i:j].upper()
            if word == 'ATOMIC' and prev_word == 'BEGIN' and not atomic:
                atomic = 1
            elif atomic and word == 'CASE':
                atomic += 1
            elif atomic and word == 'END':
                atomic -= 1
            prev_word = word
            i = j
            continue
        if c == ';' and atomic:
            i += 1
            continue
        if c == ';':
            prev_word = ''
            yield (text.count('\n', 0, start) + 1,
                   text[comment_start:start].rstrip() if comment_start is not None else '',
                   text[start:i + 1])
            start = comment_start = None
            i += 1
            continue
        i += 1
    if start is not None and text[start:].strip():
        yield (text.count('\n', 0, start) + 1, '', text[start:].strip())


def words(stmt):
    """The statement with comments removed and whitespace collapsed (bodies kept)."""
    out = []
    for _l, _c, s in []:
        pass
    s = re.sub(r'--[^\n]*', ' ', stmt)
    return ' '.join(s.split())


if __name__ == '__main__':
    for path in sys.argv[1:]:
        with open(path) as f:
            text = f.read()
        for line, comment, stmt in split(text):
            head = ' '.join(stmt.split())[:110]
            print(f'{path}:{line}: {head}')
