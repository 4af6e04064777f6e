//! A server directive that sends a CSP, found in a file csppatch does not read (E065).
//!
//! A directory walk skips files that are no server configuration by name or content: a
//! Kubernetes Ingress whose `configuration-snippet` annotation holds
//! `more_set_headers "Content-Security-Policy: ..."`, a Helm chart's values, a Dockerfile or
//! shell script writing an nginx config with a heredoc, a generator script. The policy such a
//! file sends is as real as a vhost's, so passing over it in silence would end the run with a
//! false all-clear (README, "Never a false all-clear"). Only lines that look like a directive
//! of nginx, Apache or Caddy naming the header, or a `<meta http-equiv>` for it, count; prose
//! in documentation markup (Markdown, reStructuredText, AsciiDoc) does not: its examples are
//! not deployed. Plain text does (Joomla ships its `.htaccess` as `htaccess.txt`).

use std::path::Path;

use super::lower_ext;

/// Files whose text is prose about configurations, never one.
fn is_prose(path: &Path) -> bool {
    matches!(
        lower_ext(path).as_str(),
        "md" | "markdown" | "mdx" | "rst" | "adoc" | "asciidoc" | "org" | "textile"
    )
}

/// The nginx words that send a header.
const NGINX: &[&str] = &["add_header", "more_set_headers"];

/// Apache: `Header [always|onsuccess] ACTION`, before the header name.
fn apache_sender(words: &[&[u8]]) -> bool {
    let [.., header, action] = words else {
        return false;
    };
    let actions: [&[u8]; 5] = [b"set", b"append", b"merge", b"add", b"setifempty"];
    if !actions.contains(action) {
        return false;
    }
    match *header {
        b"header" => true,
        b"always" | b"onsuccess" => words.len() >= 3 && words[words.len() - 3] == b"header",
        _ => false,
    }
}

const NEEDLE: &[u8] = b"content-security-policy";

/// The first line of `src` that sends a CSP the way a server configuration does: the byte
/// offset of the header's name and what kind of directive it is. `None` for prose files and for files that only
/// mention the header (a comment, a test's expected string without a directive).
pub fn first_sender(path: &Path, src: &[u8]) -> Option<(usize, &'static str)> {
    if is_prose(path) {
        return None;
    }
    let mut start = 0;
    for line in src.split(|&b| b == b'\n') {
        let offset = start;
        start += line.len() + 1;
        let lower = line.to_ascii_lowercase();
        let Some(at) = find(&lower, NEEDLE) else {
            if let Some((at, what)) = framework_setting(path, &lower) {
                return Some((offset + at, what));
            }
            continue;
        };
        // The word that sends the header comes before its name, separated only by spaces,
        // quotes or `=` (`http-equiv="..."`, `more_set_headers "...`).
        let before = &lower[..at];
        let trimmed = before.trim_ascii_end();
        let trimmed = trimmed
            .strip_suffix(b"\"")
            .or_else(|| trimmed.strip_suffix(b"'"))
            .unwrap_or(trimmed);
        let trimmed = trimmed.trim_ascii_end();
        let trimmed = trimmed
            .strip_suffix(b"=")
            .unwrap_or(trimmed)
            .trim_ascii_end();
        let at_line = offset + at;
        if trimmed.ends_with(b"http-equiv") {
            return Some((at_line, "a `<meta http-equiv>`"));
        }
        if is_vars_header(path, trimmed, &lower[at + NEEDLE.len()..]) {
            return Some((
                at_line,
                "a header and its value in a variables file (an Ansible list such as dev-sec's \
                 `nginx_add_header`, emitted by a template loop)",
            ));
        }
        if is_header_entry(trimmed, &lower[at + NEEDLE.len()..]) {
            return Some((
                at_line,
                "a header entry (a JSON, YAML, TOML or JavaScript key)",
            ));
        }
        let words: Vec<&[u8]> = trimmed
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        let Some(&last) = words.last() else {
            continue;
        };
        if let Some(word) = NGINX.iter().find(|w| last.ends_with(w.as_bytes())) {
            return Some((
                at_line,
                if *word == "add_header" {
                    "an nginx `add_header`"
                } else {
                    "an nginx `more_set_headers`"
                },
            ));
        }
        if apache_sender(&words) {
            return Some((at_line, "an Apache `Header`"));
        }
        // Caddy: `header [+?>]Content-Security-Policy "..."`.
        if last == b"header" || matches!(last, b"header+" | b"header?" | b"header>") {
            return Some((at_line, "a Caddy `header`"));
        }
        if matches!(last, b"+" | b"?" | b">")
            && words.len() >= 2
            && words[words.len() - 2] == b"header"
        {
            return Some((at_line, "a Caddy `header`"));
        }
    }
    None
}

/// A YAML variables file (Ansible defaults/vars, Helm values) whose list item or value is the
/// header's name followed by its value, the arguments of an nginx `add_header` or an Apache
/// `Header set` that a template writes in a loop: dev-sec's nginx_hardening has
/// `- Content-Security-Policy "script-src 'self'"` in `nginx_add_header`, and its template
/// `add_header {{ header }};` never names the header.
fn is_vars_header(path: &Path, before: &[u8], after: &[u8]) -> bool {
    if !matches!(lower_ext(path).as_str(), "yml" | "yaml") {
        return false;
    }
    // The scalar starts with the name: a list item (`- `, maybe quoted) or a key's value.
    let item = before.iter().all(|&b| b.is_ascii_whitespace() || b == b'-');
    let value = before.ends_with(b":") && !before.contains(&b'#');
    if !(item || value) {
        return false;
    }
    // Then whitespace and a value: a quoted policy, or a directive (`default-src`, `frame-ancestors`).
    if !after.first().is_some_and(|b| b.is_ascii_whitespace()) {
        return false;
    }
    let rest = after.trim_ascii();
    rest.starts_with(b"\"")
        || rest.starts_with(b"'")
        || rest.starts_with(b"\\\"")
        || find(rest, b"-src").is_some()
        || find(rest, b"frame-ancestors").is_some()
        || find(rest, b"upgrade-insecure-requests").is_some()
}

/// A header map or list names the header as a key (`"Content-Security-Policy": [...]` in
/// Caddy's JSON, `Content-Security-Policy: ...` in Netlify's `_headers` or a Traefik
/// middleware, `'Content-Security-Policy': policy` in a JavaScript headers object,
/// `Content-Security-Policy = "..."` in netlify.toml) or as the value of a `key`/`name` field
/// beside its value (vercel.json, firebase.json, a Gateway API filter).
fn is_header_entry(before: &[u8], after: &[u8]) -> bool {
    let after = after
        .strip_prefix(b"\"")
        .or_else(|| after.strip_prefix(b"'"))
        .unwrap_or(after)
        .trim_ascii_start();
    // A key: first on its line (after list or object punctuation), or after `{`/`,` in JSON.
    let keyed = (after.starts_with(b":") || after.starts_with(b"="))
        && !after[1..].trim_ascii().is_empty()
        && (before.iter().all(|&b| b.is_ascii_whitespace() || b == b'-')
            || before.ends_with(b"{")
            || before.ends_with(b","));
    let field = before.strip_suffix(b":").unwrap_or(before).trim_ascii_end();
    let field = field
        .strip_suffix(b"\"")
        .or_else(|| field.strip_suffix(b"'"))
        .unwrap_or(field);
    keyed || field.ends_with(b"key") || field.ends_with(b"name")
}

/// A web framework's or proxy's own CSP setting, which sends the header without naming it:
/// helmet's, Traefik's and Spring Security's `contentSecurityPolicy`, Rails'
/// `content_security_policy do`, SvelteKit's `kit.csp` (a header for server-rendered pages, a
/// `<meta>` for prerendered ones). `lower` is the line in lower case.
fn framework_setting(path: &Path, lower: &[u8]) -> Option<(usize, &'static str)> {
    if let Some(at) = find(lower, b"contentsecuritypolicy") {
        let after = &lower[at + b"contentsecuritypolicy".len()..];
        let after = after
            .strip_prefix(b"\"")
            .or_else(|| after.strip_prefix(b"'"))
            .unwrap_or(after)
            .trim_ascii_start();
        if after.starts_with(b":") || after.starts_with(b"=") || after.starts_with(b"(") {
            return Some((
                at,
                "a framework's contentSecurityPolicy setting (helmet, Traefik, Spring Security)",
            ));
        }
    }
    if let Some(at) = find(lower, b"content_security_policy do") {
        return Some((at, "Rails' content_security_policy"));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with("svelte.config.") {
        let t = lower.trim_ascii_start();
        if t.starts_with(b"csp:") || t.starts_with(b"csp :") {
            return Some((
                lower.len() - t.len(),
                "SvelteKit's kit.csp (a header for server-rendered pages, a <meta> for prerendered ones)",
            ));
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(name: &str, src: &str) -> Option<(usize, &'static str)> {
        first_sender(Path::new(name), src.as_bytes())
    }

    #[test]
    fn an_ingress_annotation_sends_a_csp() {
        let src = "metadata:\n  annotations:\n    nginx.ingress.kubernetes.io/configuration-snippet: |\n      more_set_headers \"Content-Security-Policy: default-src 'self'\";\n";
        let (at, what) = sender("ingress.yaml", src).unwrap();
        assert_eq!(&src[at..at + 23], "Content-Security-Policy");
        assert_eq!(what, "an nginx `more_set_headers`");
    }

    #[test]
    fn heredocs_and_generators_send_one() {
        assert!(sender(
            "entrypoint.sh",
            "cat > x <<EOF\nadd_header Content-Security-Policy \"${CSP}\" always;\nEOF\n"
        )
        .is_some_and(|(_, w)| w.contains("add_header")));
        assert!(sender(
            "gen.js",
            "out.push(`  Header always set Content-Security-Policy \"${p}\"`);"
        )
        .is_some_and(|(_, w)| w.contains("Apache")));
        assert!(sender(
            "App.vue",
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'\">"
        )
        .is_some());
        assert!(sender("Caddyfile.j2", "\theader Content-Security-Policy \"x\"\n").is_some());
        assert!(sender(
            "caddy.json",
            "{\"handler\":\"headers\",\"response\":{\"set\":{\"Content-Security-Policy\":[\"default-src 'self'\"]}}}"
        )
        .is_some());
        assert!(sender(
            "caddy.json",
            "        \"Content-Security-Policy\": [\"default-src 'self'\"]"
        )
        .is_some());
        assert!(sender("_headers", "  Content-Security-Policy: default-src 'self'").is_some());
        assert!(sender(
            "netlify.toml",
            "    Content-Security-Policy = \"default-src 'self'\""
        )
        .is_some());
        assert!(sender(
            "vercel.json",
            "  { \"key\": \"Content-Security-Policy\", \"value\": \"default-src 'self'\" },"
        )
        .is_some());
        assert!(sender("values.yaml", "  - name: Content-Security-Policy").is_some());
        // dev-sec/ansible-collection-hardening roles/nginx_hardening/defaults/main.yml
        let dev_sec = "nginx_add_header:\n  - X-Frame-Options SAMEORIGIN\n  - Content-Security-Policy \"script-src 'self'; object-src 'self'\"\n";
        let (at, what) = sender("defaults/main.yml", dev_sec).unwrap();
        assert_eq!(&dev_sec[at..at + 23], "Content-Security-Policy");
        assert!(what.contains("variables file"));
        assert!(sender(
            "vars.yml",
            "csp: Content-Security-Policy default-src 'self'"
        )
        .is_some());
        // The same words in a shell script or a bare mention are no such item.
        assert_eq!(sender("vars.yml", "  - Content-Security-Policy\n"), None);
        assert_eq!(
            sender("notes.txt", "- Content-Security-Policy \"x\"\n"),
            None
        );
    }

    #[test]
    fn frameworks_that_send_a_csp_without_naming_it() {
        let helmet = "app.use(helmet({\n  contentSecurityPolicy: {\n    directives: { scriptSrc: [\"'self'\"] },\n";
        let (at, what) = sender("server.js", helmet).unwrap();
        assert_eq!(&helmet[at..at + 21], "contentSecurityPolicy");
        assert!(what.contains("helmet"));
        assert!(sender(
            "dynamic.yml",
            "http:\n  middlewares:\n    sec:\n      headers:\n        contentSecurityPolicy: \"default-src 'self'\"\n"
        )
        .is_some());
        assert!(sender(
            "content_security_policy.rb",
            "Rails.application.configure do\n  config.content_security_policy do |policy|\n"
        )
        .is_some());
        let svelte = "const config = {\n  kit: {\n    csp: {\n      directives: { 'script-src': ['self'] }\n";
        let (at, what) = sender("svelte.config.js", svelte).unwrap();
        assert_eq!(&svelte[at..at + 4], "csp:");
        assert!(what.contains("SvelteKit"));
        // `csp:` elsewhere is any key; a mention of the setting is no setting.
        assert_eq!(sender("config.js", "  csp: true,\n"), None);
        assert_eq!(
            sender("notes.js", "// contentSecurityPolicy is off\n"),
            None
        );
    }

    #[test]
    fn mentions_and_prose_do_not() {
        assert_eq!(
            sender("notes.md", "add_header Content-Security-Policy \"x\";"),
            None
        );
        assert_eq!(
            sender("app.js", "// we set Content-Security-Policy in nginx\n"),
            None
        );
        assert_eq!(
            sender(
                "server.js",
                "res.setHeader('Content-Security-Policy', policy);\n"
            ),
            None
        );
        assert_eq!(
            sender("x.yaml", "csp_header: Content-Security-Policy\n"),
            None
        );
    }
}
