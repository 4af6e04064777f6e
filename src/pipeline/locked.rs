//! Locked policies: a CSP that is strict on purpose for responses that are not pages a widget
//! runs in (SVG files, user uploads, download handlers). csppatch leaves them as they are unless
//! `--include-locked` is given (README, "Locked policies").
//!
//! Two independent reasons, either one locks a site:
//! - the policy forbids scripts entirely: the script directive browsers use (`script-src-elem`,
//!   else `script-src`, else `default-src`) is `'none'` (or empty), or `sandbox` is set without
//!   `allow-scripts`;
//! - the site is scoped to file types or to upload/download paths, as its context shows it:
//!   an nginx `location` regex on a file extension (`location ~* \.svg$`), an Apache
//!   `<Files>`/`<FilesMatch>` section, or a location/function about uploads, avatars,
//!   attachments or downloads (`location /user_uploads`, PHP `AttachmentFile::display()`).

use crate::csp::parse::{self, Policy};

/// Why a site is locked, in words for a message (`None`: an ordinary policy).
pub fn reason(policy: &str, context: &str) -> Option<String> {
    let mut why = Vec::new();
    if let Some(content) = forbids_scripts(policy) {
        why.push(content);
    }
    if let Some(scope) = scope(context) {
        why.push(scope);
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// "forbids scripts (`script-src 'none'`)" when some enforced policy of the list allows no
/// script at all.
fn forbids_scripts(text: &str) -> Option<String> {
    let list = parse::parse(text);
    let found = list.enforced().find_map(policy_forbids_scripts);
    found
}

fn policy_forbids_scripts(p: &Policy) -> Option<String> {
    if let Some(sandbox) = p.get("sandbox") {
        let scripts = sandbox
            .sources
            .iter()
            .any(|t| t.text.eq_ignore_ascii_case("allow-scripts"));
        if !scripts {
            return Some(format!(
                "it forbids scripts (`sandbox{}` without `allow-scripts`)",
                sandbox
                    .sources
                    .iter()
                    .map(|t| format!(" {}", t.text))
                    .collect::<String>()
            ));
        }
    }
    let d = ["script-src-elem", "script-src", "default-src"]
        .iter()
        .find_map(|name| p.get(name))?;
    let none = d.sources.is_empty() || (d.sources.len() == 1 && d.sources[0].is_none_keyword());
    if !none {
        return None;
    }
    let shown = format!("{} {}", d.name, d.values().join(" "));
    Some(if d.name == "default-src" {
        format!(
            "it forbids scripts (`{}` and no script directive)",
            shown.trim_end()
        )
    } else {
        format!("it forbids scripts (`{}`)", shown.trim_end())
    })
}

/// Words in a location path or a function name that say the responses are user files.
const FILE_PATHS: &[&str] = &[
    "upload",
    "avatar",
    "attachment",
    "download",
    "fileadmin",
    "/files",
];

/// "it is scoped to …" when the context (`server x > location ~* \.svg$`, `<FilesMatch
/// "\.svg$">`, `AttachmentFile::display()`) limits the site to file types or user files.
fn scope(context: &str) -> Option<String> {
    for part in context.split(" > ") {
        let part = part.trim();
        let lower = part.to_ascii_lowercase();
        if lower.starts_with("<filesmatch") || lower.starts_with("<files ") {
            if PAGE_EXTENSIONS
                .iter()
                .any(|ext| lower.contains(&format!(".{ext}")))
            {
                continue;
            }
            return Some(format!("it is scoped to file types (`{part}`)"));
        }
        if let Some(rest) = lower.strip_prefix("location ") {
            let regex = rest.starts_with('~');
            if regex && extension_regex(rest) {
                return Some(format!("it is scoped to file types (`{part}`)"));
            }
            if FILE_PATHS.iter().any(|w| rest.contains(w)) {
                return Some(format!("it is scoped to user files (`{part}`)"));
            }
            continue;
        }
        // nginx `if ($uri ~ \.svg$)`, `if ($request_uri ~* ^/uploads/)`.
        if let Some(test) = lower.strip_prefix("if (") {
            let uri = ["$uri", "$request_uri", "$request_filename", "$document_uri"];
            if let Some((var, regex)) = test.split_once('~') {
                let regex = regex
                    .trim_start_matches('*')
                    .trim()
                    .trim_end_matches(')')
                    .trim();
                let regex = regex.trim_matches(['"', '\'']);
                if uri.contains(&var.trim()) && !var.ends_with('!') {
                    if extension_regex(regex) {
                        return Some(format!("it is scoped to file types (`{part}`)"));
                    }
                    if FILE_PATHS.iter().any(|w| regex.contains(w)) {
                        return Some(format!("it is scoped to user files (`{part}`)"));
                    }
                }
            }
            continue;
        }
        // `<LocationMatch "\.svg$">`, `<DirectoryMatch "\.svg$">`: a regex on a file type.
        if lower.starts_with("<locationmatch") || lower.starts_with("<directorymatch") {
            let regex = section_args(&lower);
            if extension_regex(regex) {
                return Some(format!("it is scoped to file types (`{part}`)"));
            }
        }
        // `<If "%{REQUEST_URI} =~ m#^/uploads/#">`, `<If "%{REQUEST_URI} =~ /\.svg$/">`.
        if lower.starts_with("<if ") || lower.starts_with("<elseif ") {
            if let Some(regex) = if_uri_regex(&lower) {
                if extension_regex(regex) {
                    return Some(format!("it is scoped to file types (`{part}`)"));
                }
                if FILE_PATHS.iter().any(|w| regex.contains(w)) {
                    return Some(format!("it is scoped to user files (`{part}`)"));
                }
            }
            continue;
        }
        if lower.starts_with("<location") || lower.starts_with("<directory") {
            if FILE_PATHS.iter().any(|w| lower.contains(w)) {
                return Some(format!("it is scoped to user files (`{part}`)"));
            }
            continue;
        }
        // A Caddy `header` under a matcher: `header @svg (path *.svg)`, `header /uploads/*`.
        if let Some(rest) = lower.strip_prefix("header ") {
            if lower.contains("not ") || lower.contains("not(") {
                continue; // `not path /image_proxy`: every other response, the pages
            }
            // `@svg path_regexp \.svg$`, `@up path_regexp up ^/uploads/`: the regex is the
            // last word of the definition.
            if let Some((_, def)) = rest.split_once("path_regexp ") {
                let def = def.split(')').next().unwrap_or(def);
                if let Some(regex) = def.split_whitespace().last() {
                    let regex = regex.trim_matches(['"', '`']);
                    if extension_regex(regex) {
                        return Some(format!("it is scoped to file types (`{part}`)"));
                    }
                    if FILE_PATHS.iter().any(|w| regex.contains(w)) {
                        return Some(format!("it is scoped to user files (`{part}`)"));
                    }
                }
                continue;
            }
            let paths = rest
                .split([' ', '(', ')'])
                .filter(|w| w.starts_with('/') || w.starts_with('*'));
            for p in paths {
                if let Some(ext) = p.rsplit_once("*.").map(|(_, e)| e) {
                    if !ext.is_empty() && !PAGE_EXTENSIONS.contains(&ext) {
                        return Some(format!("it is scoped to file types (`{part}`)"));
                    }
                }
                if FILE_PATHS.iter().any(|w| p.contains(w)) {
                    return Some(format!("it is scoped to user files (`{part}`)"));
                }
            }
            continue;
        }
        // A PHP function or method (`AttachmentFile::display()`): a download handler.
        if part.ends_with("()") && FILE_PATHS[..4].iter().any(|w| lower.contains(w)) {
            return Some(format!("it is sent by a download handler (`{part}`)"));
        }
    }
    None
}

/// The arguments of an Apache section label, `<LocationMatch "\.svg$">` → `\.svg$`.
fn section_args(label: &str) -> &str {
    let inner = label.split_once('>').map_or(label, |(a, _)| a);
    let args = inner.split_once(' ').map_or("", |(_, a)| a).trim();
    args.trim_matches(['"', '\''])
}

/// The regex an `<If>` expression matches the request's path or file against
/// (`%{REQUEST_URI} =~ m#^/uploads/#`, `%{REQUEST_FILENAME} =~ /\.svg$/`); `None` for a
/// negated match (`!~`: every other response) or another test.
fn if_uri_regex(label: &str) -> Option<&str> {
    let vars = [
        "%{request_uri}",
        "%{request_filename}",
        "%{script_filename}",
        "%{path_info}",
    ];
    if !vars.iter().any(|v| label.contains(v)) || label.contains("!~") {
        return None;
    }
    let (_, rhs) = label.split_once("=~")?;
    let rhs = rhs.trim_start();
    let (open, body) = if let Some(b) = rhs.strip_prefix('m') {
        let open = b.chars().next()?;
        (open, &b[open.len_utf8()..])
    } else {
        let open = rhs.chars().next()?;
        (open, &rhs[open.len_utf8()..])
    };
    if open.is_alphanumeric() || open.is_whitespace() {
        return None;
    }
    let close = match open {
        '(' => ')',
        '{' => '}',
        '[' => ']',
        c => c,
    };
    let end = body.find(close)?;
    Some(&body[..end])
}

/// A location regex that ends on a file extension: `\.svg$`, `^.+\.svg`, `\.(?:png|svg)$`.
fn extension_regex(regex: &str) -> bool {
    let Some(at) = regex.rfind("\\.") else {
        return false;
    };
    let tail = &regex[at + 2..];
    let tail = tail.trim_end_matches(['$', '"', '\'', ' ']);
    let shape = !tail.is_empty()
        && tail
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"()|?:".contains(&b));
    // `location ~ \.php$` serves pages: the policy there is the page policy.
    let pages = tail
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|ext| PAGE_EXTENSIONS.contains(&ext));
    shape && !pages
}

/// Extensions of responses that are pages (a widget runs in them).
const PAGE_EXTENSIONS: &[&str] = &[
    "php", "phtml", "html", "htm", "shtml", "xhtml", "asp", "aspx", "jsp", "cgi", "pl", "py",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_that_forbid_scripts() {
        assert!(forbids_scripts("script-src 'none'").is_some());
        assert!(forbids_scripts("default-src 'none'; img-src 'self'").is_some());
        assert!(forbids_scripts("default-src 'none'; script-src 'self'").is_none());
        assert!(forbids_scripts("script-src-elem 'none'; script-src 'self'").is_some());
        assert!(forbids_scripts("sandbox allow-forms").is_some());
        assert!(forbids_scripts("sandbox allow-scripts; default-src 'self'").is_none());
        assert!(forbids_scripts("default-src 'self'").is_none());
        assert!(
            forbids_scripts("img-src 'none'").is_none(),
            "scripts allowed"
        );
        // Report-only policies are not enforced but are still policies: a comma list locks
        // when any enforced policy forbids scripts.
        assert!(forbids_scripts("default-src 'self', script-src 'none'").is_some());
    }

    #[test]
    fn scopes_from_context() {
        assert!(scope("server localhost > location ~* ^.+\\.svg$").is_some());
        assert!(scope("server x > location ~* \\.(?:svg|svgz)$").is_some());
        assert!(scope("server x > location ~ \\.php$").is_none(), "pages");
        assert!(
            scope("server x > location ~ \\.(php|svg)$").is_none(),
            "pages"
        );
        assert!(scope("server x > location ~ ^/api/").is_none());
        assert!(scope("location /internal/local/user_avatars").is_some());
        assert!(
            scope("<IfModule mod_headers.c> > <FilesMatch \"\\.svg$\"> > Header set").is_some()
        );
        assert!(
            scope("<FilesMatch \\.php$> > Header set").is_none(),
            "pages"
        );
        assert!(scope("AttachmentFile::display()").is_some());
        assert!(scope("send_headers()").is_none());
        assert!(scope("server downloads.example.com > location /").is_none());
        assert!(scope("top level").is_none());
        // Apache regex sections and <If> expressions (issue 7, 2).
        assert!(scope("<VirtualHost *:80> x > <LocationMatch \"\\.svg$\"> > Header set").is_some());
        assert!(scope("<LocationMatch \\.(png|svg)$> > Header set").is_some());
        assert!(
            scope("<LocationMatch \"^/app\"> > Header set").is_none(),
            "a page"
        );
        assert!(
            scope("<LocationMatch \"\\.php$\"> > Header set").is_none(),
            "pages"
        );
        assert!(scope("<DirectoryMatch \"/var/www/uploads\"> > Header set").is_some());
        assert!(scope("<If \"%{REQUEST_URI} =~ m#^/uploads/#\"> > Header set").is_some());
        assert!(scope("<If \"%{REQUEST_URI} =~ /\\.svg$/\"> > Header set").is_some());
        assert!(
            scope("<If \"%{REQUEST_URI} !~ /\\.svg$/\"> > Header set").is_none(),
            "negated"
        );
        assert!(scope("<If \"%{REQUEST_URI} =~ m#^/app/#\"> > Header set").is_none());
        assert!(scope("<If \"%{HTTP_HOST} == 'x'\"> > Header set").is_none());
        // nginx `if` on the request's path.
        assert!(scope("server x > location / > if ($uri ~ \\.svg$)").is_some());
        assert!(scope("server x > location / > if ($request_uri ~* ^/uploads/)").is_some());
        assert!(
            scope("server x > location / > if ($uri !~ \\.svg$)").is_none(),
            "negated"
        );
        assert!(scope("server x > location / > if ($http_host ~ \\.svg$)").is_none());
        assert!(scope("server x > location ~ ^/(uploads|media)/").is_some());
        // Caddy path_regexp matchers, with and without a name.
        assert!(scope("site :80 > header @svg (path_regexp \\.svg$)").is_some());
        assert!(scope("site :80 > header @svg (path_regexp svg \\.svg$)").is_some());
        assert!(scope("site :80 > header @up (path_regexp ^/uploads/)").is_some());
        assert!(scope("site :80 > header @app (path_regexp ^/app/)").is_none());
        assert!(
            scope("site :80 > header @php (path_regexp \\.php$)").is_none(),
            "pages"
        );
        assert!(scope("site :80 > header @svg (path *.svg)").is_some());
        assert!(scope("site :80 > header @svg (path *.svg *.svgz)").is_some());
        assert!(scope("site :80 > header /uploads/*").is_some());
        assert!(
            scope("site :80 > header @pages (path *.html)").is_none(),
            "pages"
        );
        assert!(scope("site :80 > header @api (path /api/*)").is_none());
        assert!(
            scope("site :80 > header @notsvg (not path *.svg)").is_none(),
            "the other responses"
        );
    }
}
