"""Render a Jinja2 template with JSON variables, or list its tags, with Jinja2 itself.

Used by tests/e2e/templates.rs only: `render TEMPLATE VARS.json` prints the rendering (as
Ansible's template module renders: trim_blocks on, the trailing newline kept, undefined
variables an error); `tags TEMPLATE` prints every token Jinja2's own lexer reads that is not
plain text, one JSON array per line, so a test can compare a template's tags before and
after csppatch without trusting csppatch's lexer.
"""
import json
import sys

import jinja2

mode, path = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as f:
    source = f.read()
env = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True
)
if mode == "render":
    with open(sys.argv[3], encoding="utf-8") as f:
        variables = json.load(f)
    sys.stdout.write(env.from_string(source).render(**variables))
elif mode == "tags":
    for _lineno, token, value in env.lex(source):
        if token != "data":
            print(json.dumps([token, value]))
else:
    sys.exit("usage: render_jinja2.py render|tags TEMPLATE [VARS.json]")
