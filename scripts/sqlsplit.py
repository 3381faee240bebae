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


ALIASES = {'int': 'integer', 'int4': 'integer', 'bool': 'boolean', 'int8': 'bigint', 'float8': 'double precision',
           'varchar': 'character varying', 'timestamp with time zone': 'timestamptz'}
TYPE_START = {'double', 'timestamp', 'time', 'character', 'bit', 'timestamptz'}
NAME = r'([@\w."$]+)'


def norm(stmt):
    """The statement with -- comments removed and whitespace collapsed."""
    return ' '.join(re.sub(r'--[^\n]*', ' ', stmt).split())


def _unqualify(name):
    return name.replace('@extschema@.', '').replace('tenantcore.', '').strip('"')


def _split_args(s):
    out, depth, cur, i = [], 0, '', 0
    while i < len(s):
        c = s[i]
        if c in '\'"':
            j = s.find(c, i + 1)
            cur += s[i:j + 1]; i = j + 1; continue
        if c in '([': depth += 1
        if c in ')]': depth -= 1
        if c == ',' and depth == 0:
            out.append(cur); cur = ''
        else:
            cur += c
        i += 1
    if cur.strip(): out.append(cur)
    return out


def type_name(t):
    t = ' '.join(_unqualify(x) for x in t.lower().split())
    return ALIASES.get(t, t)


def _routine(w, i, proc):
    """w[i:] starts with name(args): (key, end) with the identity argument types"""
    m = re.compile(r'\s*' + NAME + r'\s*\(').match(w, i)
    o = m.end() - 1
    depth, c = 0, o
    while True:
        if w[c] == "'":
            c = w.find("'", c + 1)
        elif w[c] == '(':
            depth += 1
        elif w[c] == ')':
            depth -= 1
            if depth == 0: break
        c += 1
    types = []
    for a in _split_args(w[o + 1:c]):
        a = re.split(r'\s+DEFAULT\s+|\s*=\s*', a, maxsplit=1, flags=re.I)[0].strip()
        if not a: continue
        mode = 'IN'
        mm = re.match(r'(IN|OUT|INOUT|VARIADIC)\s+(.*)', a, re.I | re.S)
        if mm: mode, a = mm.group(1).upper(), mm.group(2)
        if mode == 'OUT' and not proc: continue
        toks = a.split()
        if len(toks) > 1 and toks[0].lower() not in TYPE_START:
            toks = toks[1:]
        types.append(type_name(' '.join(toks)))
    return ('function', _unqualify(m.group(1)) + '(' + ','.join(types) + ')'), c + 1


def defines(stmt):
    """The objects a statement defines: a list of (kind, name) keys.  Routines
    are keyed by name and identity argument types, policies and triggers by
    name and table."""
    w = norm(stmt)
    m = re.match(r'CREATE (?:OR REPLACE )?(FUNCTION|PROCEDURE|AGGREGATE) ', w, re.I)
    if m:
        return [_routine(w, m.end(), m.group(1).upper() == 'PROCEDURE')[0]]
    m = re.match(r'CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?' + NAME, w, re.I)
    if m: return [('table', _unqualify(m.group(1)))]
    m = re.match(r'CREATE (?:OR REPLACE )?(?:MATERIALIZED )?VIEW ' + NAME, w, re.I)
    if m: return [('view', _unqualify(m.group(1)))]
    m = re.match(r'CREATE SEQUENCE (?:IF NOT EXISTS )?' + NAME, w, re.I)
    if m: return [('sequence', _unqualify(m.group(1)))]
    m = re.match(r'CREATE TYPE ' + NAME, w, re.I)
    if m: return [('type', _unqualify(m.group(1)))]
    m = re.match(r'CREATE (?:OR REPLACE )?(?:CONSTRAINT )?TRIGGER (\w+) .*? ON ' + NAME, w, re.I)
    if m: return [('trigger', m.group(1) + ' on ' + _unqualify(m.group(2)))]
    m = re.match(r'CREATE EVENT TRIGGER (\w+)', w, re.I)
    if m: return [('event trigger', m.group(1))]
    m = re.match(r'CREATE POLICY (\w+) ON ' + NAME, w, re.I)
    if m: return [('policy', m.group(1) + ' on ' + _unqualify(m.group(2)))]
    return []


if __name__ == '__main__':
    for path in sys.argv[1:]:
        with open(path) as f:
            text = f.read()
        for line, comment, stmt in split(text):
            keys = defines(stmt)
            head = ', '.join(f'{k} {n}' for k, n in keys) if keys else ' '.join(stmt.split())[:110]
            print(f'{path}:{line}: {head}')
