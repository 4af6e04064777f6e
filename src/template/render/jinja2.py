# csppatch: render a Jinja2 template for `--validate` (src/template/render.rs).
# usage: python3 jinja2.py TEMPLATE VARS.json > RENDERED
# As Ansible's template module renders (trim_blocks on, the trailing newline kept). Variables
# the template uses but VARS.json does not set are collected, not guessed: exit 3 with
# "missing: a, b" on stderr. A few filters Ansible adds are defined so that its templates render.
import json
import sys

import jinja2

missing = []


class Missing(jinja2.Undefined):
    def _record(self):
        if self._undefined_name and self._undefined_name not in missing:
            missing.append(self._undefined_name)

    # Any other use (`x.attr`, `x == 1`, `x + 1`) goes through here in jinja2.Undefined.
    def _fail_with_undefined_error(self, *args, **kwargs):
        self._record()
        return ""

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _fail_with_undefined_error
    __hash__ = object.__hash__

    def __str__(self):
        self._record()
        return ""

    def __iter__(self):
        self._record()
        return iter(())

    def __bool__(self):
        self._record()
        return False

    def __len__(self):
        self._record()
        return 0


def to_bool(v):
    return str(v).lower() in ("1", "true", "yes", "on", "y")


env = jinja2.Environment(undefined=Missing, keep_trailing_newline=True, trim_blocks=True)
env.filters.update(
    bool=to_bool,
    ternary=lambda v, a, b=None: a if v else b,
    to_json=json.dumps,
    mandatory=lambda v: v,
)
with open(sys.argv[1], encoding="utf-8") as f:
    template = env.from_string(f.read())
with open(sys.argv[2], encoding="utf-8") as f:
    variables = json.load(f)
out = template.render(**variables)
if missing:
    sys.stderr.write("missing: " + ", ".join(missing) + "\n")
    sys.exit(3)
sys.stdout.write(out)
