#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Ansible module: run csppatch on the managed host (see DOCUMENTATION)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: csppatch
short_description: Let a vendor's widget through a site's Content-Security-Policy
version_added: "0.1.0"
description:
  - Runs the C(csppatch) binary on the managed host over the given configuration files or
    directories (nginx, Apache httpd, Caddy, PHP, HTML). csppatch finds every
    Content-Security-Policy, merges in the sources the vendors need by the rules of CSP
    Level 3, changes only the bytes of the policy value, and writes atomically.
  - The task is C(changed) when a file changed, or in check mode would change (csppatch
    C(--check) exits 1). A second run changes nothing.
  - The task fails with csppatch's diagnostics (file:line, code, message) when csppatch exits
    2 (bad input, a file it cannot read or a site it refuses) or 3 (validation failed).
    Either way nothing is written.
options:
  path:
    description:
      - Files or directories to patch on the managed host. Directories are walked and
        includes are followed.
    type: list
    elements: path
    required: true
  vendor:
    description:
      - Vendor presets (C(csppatch vendors) lists them), such as C(muserelay) or C(intercom).
    type: list
    elements: str
    default: []
  region:
    description:
      - The regional variant for presets that have one (C(us), C(eu), C(au)).
    type: str
  custom_domain:
    description:
      - The custom tracking domain, for presets that take one (Ortto).
    type: str
  allow:
    description:
      - Ad-hoc sources, validated like preset ones, each C('DIRECTIVE SOURCE...').
    type: list
    elements: str
    default: []
  nonce:
    description:
      - The site already puts a nonce on the vendor's script tag; add no script hosts for
        presets that support it.
    type: bool
    default: false
  validate:
    description:
      - Run the server's own validator (C(nginx -t), C(apache2 -t), C(caddy validate),
        C(php -l)) on the patched configuration before anything is written.
    type: bool
    default: false
  validate_cmd:
    description:
      - A shell command to validate with instead of the server's default one (implies
        I(validate)).
    type: str
  conf_root:
    description:
      - The server's main config file, for include resolution and validation. By default
        csppatch takes the nearest C(nginx.conf), C(apache2.conf) or C(Caddyfile) above the
        paths, else the system one.
    type: path
  exclude:
    description:
      - Globs of files to leave out (and what only they include), as csppatch C(--exclude).
    type: list
    elements: str
    default: []
  binary:
    description:
      - Path to the csppatch binary on the managed host. By default C(csppatch) is looked up
        in PATH and the usual bin directories.
    type: path
notes:
  - Check mode runs C(csppatch --check) and writes nothing; with I(validate) the validator
    still runs on the patched configuration, in a private mount namespace.
  - Diff mode returns each changed file before and after, as M(ansible.builtin.template)
    does.
  - Idempotent. Supports check mode and diff mode.
requirements:
  - csppatch on the managed host.
seealso:
  - module: ansible.builtin.template
author:
  - csppatch contributors
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Let the MuseRelay chatbot through every site's CSP, proven by nginx -t
  csppatch.csppatch.csppatch:
    path: [/etc/nginx]
    vendor: [muserelay]
    validate: true

- name: Intercom in the EU on Apache, leaving the uploads vhost alone
  csppatch.csppatch.csppatch:
    path: [/etc/apache2/sites-enabled]
    vendor: [intercom]
    region: eu
    exclude: [uploads.conf]
    binary: /usr/local/bin/csppatch

- name: Patch the template in the repository once, then deploy it
  csppatch.csppatch.csppatch:
    path: ["{{ playbook_dir }}/templates/nginx.conf.j2"]
    vendor: [muserelay]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
sites:
  description: Every CSP site csppatch considered, changed or not (csppatch C(--format json)).
  returned: when csppatch ran
  type: list
  elements: dict
  sample:
    - path: /etc/nginx/sites-available/shop
      line: 7
      col: 5
      context: server shop.example.com
      disposition: enforce
      before: "default-src 'self'"
      after: "default-src 'self'; script-src 'self' https://muserelay.com"
      added: [{directive: script-src, source: "https://muserelay.com", policy: 0, created: true}]
      created: []
      changed: true
files:
  description: The files that change (or would, in check mode), each with its unified diff.
  returned: when csppatch ran
  type: list
  elements: dict
  sample: [{path: /etc/nginx/sites-available/shop, diff: "--- a/etc/nginx/..."}]
diagnostics:
  description: csppatch's errors, warnings and notes, each with code, severity, message,
    location (path, line, col) and help.
  returned: when csppatch ran
  type: list
  elements: dict
validations:
  description: The validator runs (command, stage C(before) or C(after), ok, output).
  returned: when csppatch ran
  type: list
  elements: dict
excluded:
  description: Paths left out by I(exclude).
  returned: when csppatch ran
  type: list
  elements: str
written:
  description: Whether files were written.
  returned: when csppatch ran
  type: bool
files_read:
  description: How many configuration files csppatch read.
  returned: when csppatch ran
  type: int
exit_code:
  description: csppatch's exit status (0 done or nothing to do, 1 check mode found changes,
    2 bad input, 3 validation failed). Not C(rc), which Ansible takes for failure when not 0.
  returned: always
  type: int
rc:
  description: csppatch's exit status, on failure only.
  returned: failed
  type: int
cmd:
  description: The csppatch command line that ran.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

# csppatch's exit codes (README "Command line").
OK = 0
CHANGES = 1
BAD_INPUT = 2
INVALID = 3


def build_command(binary, params, check_mode):
    cmd = [binary, "--format", "json", "--color", "never"]
    for vendor in params["vendor"]:
        cmd += ["--vendor", vendor]
    for flag, key in (("--region", "region"), ("--custom-domain", "custom_domain"),
                      ("--validate-cmd", "validate_cmd"), ("--conf-root", "conf_root")):
        if params[key]:
            cmd += [flag, params[key]]
    for source in params["allow"]:
        cmd += ["--allow", source]
    for glob in params["exclude"]:
        cmd += ["--exclude", glob]
    if params["nonce"]:
        cmd.append("--nonce")
    if params["validate"]:
        cmd.append("--validate")
    if check_mode:
        cmd.append("--check")
    # `--` so that a path starting with `-` is a path.
    return cmd + ["--"] + list(params["path"])


def describe(diag):
    """A diagnostic as csppatch prints it: `path:line:col: error[CODE]: message`."""
    head = "%s[%s]: %s" % (diag.get("severity"), diag.get("code"), diag.get("message"))
    loc = diag.get("location")
    if loc:
        head = "%s:%s:%s: %s" % (loc.get("path"), loc.get("line"), loc.get("col"), head)
    if diag.get("help"):
        head += " (help: %s)" % diag["help"]
    return head


def failure_message(rc, report):
    errors = [describe(d) for d in report.get("diagnostics", []) if d.get("severity") == "error"]
    failed = [v for v in report.get("validations", []) if not v.get("ok")]
    parts = []
    if rc == INVALID:
        parts.append("validation failed, nothing written")
    else:
        parts.append("csppatch refused the change, nothing written")
    parts += errors
    for v in failed:
        parts.append("%s (%s): %s" % (v.get("command"), v.get("stage"), v.get("output", "").strip()))
    return "; ".join(parts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="list", elements="path", required=True),
            vendor=dict(type="list", elements="str", default=[]),
            region=dict(type="str"),
            custom_domain=dict(type="str"),
            allow=dict(type="list", elements="str", default=[]),
            nonce=dict(type="bool", default=False),
            validate=dict(type="bool", default=False),
            validate_cmd=dict(type="str"),
            conf_root=dict(type="path"),
            exclude=dict(type="list", elements="str", default=[]),
            binary=dict(type="path"),
        ),
        required_one_of=[("vendor", "allow")],
        supports_check_mode=True,
    )
    params = module.params
    if params["binary"]:
        binary = params["binary"]
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            module.fail_json(msg="binary %s is not an executable file" % binary, cmd=[binary])
    else:
        binary = module.get_bin_path("csppatch", required=True, opt_dirs=["/usr/local/bin", "~/.cargo/bin"])

    cmd = build_command(binary, params, module.check_mode)
    rc, out, err = module.run_command(cmd, encoding="utf-8", errors="surrogate_or_replace")
    try:
        report = json.loads(out)
    except ValueError:
        # csppatch stopped before its report (an unknown vendor, a usage error): its text
        # diagnostics are on stderr.
        module.fail_json(msg="csppatch failed: %s" % (err.strip() or out.strip() or "exit %d" % rc),
                         rc=rc, exit_code=rc, cmd=cmd, stdout=out, stderr=err)

    files = report.get("files", [])
    result = dict(
        exit_code=rc,
        cmd=cmd,
        sites=report.get("sites", []),
        # The texts go to `diff`; the report keeps the path and the unified diff.
        files=[dict(path=f.get("path"), diff=f.get("diff")) for f in files],
        diagnostics=report.get("diagnostics", []),
        validations=report.get("validations", []),
        excluded=report.get("excluded", []),
        written=bool(report.get("written")),
        files_read=report.get("files_read", 0),
    )
    if err.strip():
        result["stderr"] = err
    if rc in (BAD_INPUT, INVALID) or rc not in (OK, CHANGES) or (rc == CHANGES and not module.check_mode):
        module.fail_json(msg=failure_message(rc, report), rc=rc, **result)

    warnings = [describe(d) for d in result["diagnostics"] if d.get("severity") == "warning"]
    for w in warnings:
        module.warn(w)
    if module.check_mode:
        result["changed"] = rc == CHANGES
    else:
        result["changed"] = result["written"]
    if module._diff and files:
        result["diff"] = [
            dict(before_header=f.get("path"), after_header=f.get("path"),
                 before=f.get("before", ""), after=f.get("after", ""))
            for f in files
        ]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
