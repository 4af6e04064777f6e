//! The Apache corpus (`../shared/corpus/apache`): every file round-trips through the lossless
//! tokenizer, `find()` never panics or hangs, and it refuses exactly the files httpd refuses.

use crate::common;

use std::path::{Path, PathBuf};

use csppatch::dialect::apache::{tokenize, Apache, TokenKind};
use csppatch::dialect::Dialect;

use common::apache::{Tree, ROOT};

/// Every file of the Apache corpus, a symbolic link to a file counted as the file it reads
/// as: the certbot trees' 107 links (in `*-enabled/`) count the same
/// whether the corpus was copied with its links or with them turned into files.
fn corpus_files() -> Vec<PathBuf> {
    common::corpus_files("apache")
}

#[test]
fn every_file_round_trips_byte_for_byte() {
    if !common::have_corpus() {
        return;
    }
    let files = corpus_files();
    assert!(
        files.len() > 600,
        "the Apache corpus is whole: {} files",
        files.len()
    );
    let mut ok = 0;
    for path in &files {
        let src = std::fs::read(path).unwrap();
        let tokens = tokenize(&src);
        let mut back = Vec::with_capacity(src.len());
        let mut end = 0;
        for t in &tokens {
            assert_eq!(t.span.start, end, "{}: gap before token", path.display());
            end = t.span.end;
            let bytes = &src[t.span.clone()];
            match t.kind {
                TokenKind::Continuation => {
                    assert!(bytes == b"\\\n" || bytes == b"\\\r\n", "{}", path.display())
                }
                TokenKind::Newline => assert_eq!(bytes, b"\n"),
                _ => {}
            }
            back.extend_from_slice(bytes);
        }
        assert_eq!(back, src, "{}", path.display());
        ok += 1;
    }
    eprintln!("round-trip {ok}/{} files", files.len());
}

#[test]
fn find_never_panics_or_hangs() {
    if !common::have_corpus() {
        return;
    }
    let files = corpus_files();
    let (mut parsed, mut refused) = (0, Vec::new());
    for path in &files {
        let src = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| Apache.find(path, &src));
        let result = result.unwrap_or_else(|_| panic!("{}: panic", path.display()));
        match result {
            Ok(_) => parsed += 1,
            Err(e) => refused.push(format!("{}: {} {}", path.display(), e.code, e.message)),
        }
    }
    eprintln!("find: {parsed} parsed, {} refused", refused.len());
    for r in &refused {
        eprintln!("  {r}");
    }
    // The corpus holds no file httpd refuses to parse (see `httpd_agrees_*` below).
    assert!(refused.is_empty(), "{refused:#?}");
}

/// A message of httpd's that is about the structure of the file, not about a directive.
fn structural(message: &str) -> bool {
    [
        "was not closed",
        "without matching",
        "Expected </",
        "missing closing '>'",
    ]
    .iter()
    .any(|m| message.contains(m))
        || message.contains("Invalid command '\\xef\\xbb\\xbf")
}

/// Every module in /usr/lib/apache2/modules that the base configuration does not load.
fn all_modules() -> String {
    let mut out = String::new();
    let base = "mpm_event authz_core headers dir mime setenvif env mpm_prefork mpm_worker";
    let mut entries: Vec<_> = std::fs::read_dir("/usr/lib/apache2/modules")
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    entries.sort();
    for name in entries {
        let name = name.to_string_lossy().into_owned();
        let Some(m) = name
            .strip_prefix("mod_")
            .and_then(|n| n.strip_suffix(".so"))
        else {
            continue;
        };
        if base.split(' ').any(|b| b == m) {
            continue;
        }
        out.push_str(&format!(
            "LoadModule {m}_module /usr/lib/apache2/modules/{name}\n"
        ));
    }
    out
}

/// httpd's verdict on `file`: `Ok(None)` accepted, `Ok(Some(line))` a structural error at
/// that line of the file, `Err(message)` when httpd could not tell.
///
/// First the file is included for real, with every module loaded. When httpd stops on a
/// directive it cannot run here (a module or binary this machine lacks), the file is read
/// again inside a `<IfModule>` for a module that does not exist: httpd then skips the body
/// with `ap_soak_end_container`, which checks only how sections nest.
fn httpd_verdict(file: &Path, modules: &str) -> Result<Option<usize>, String> {
    let defines = format!("Define APACHE_LOG_DIR {ROOT}/logs\nDefine APACHE_RUN_DIR {ROOT}/logs\n");
    let include = if file.to_string_lossy().ends_with(".htaccess") {
        format!(
            "<Directory \"{ROOT}/www\">\nInclude \"{}\"\n</Directory>\n",
            file.display()
        )
    } else {
        format!("Include \"{}\"\n", file.display())
    };
    let tree = Tree::new(&format!("{modules}{defines}{include}"), &[]);
    let message = match tree.configtest() {
        Ok(()) => return Ok(None),
        Err(message) if structural(&message) => return Ok(Some(error_line(&message, file))),
        // AH00014 comes after the whole configuration was read (a log directory is missing).
        Err(message) if message.contains("AH00014") && !message.contains("Syntax error") => {
            return Ok(None)
        }
        Err(message) => message,
    };
    let mut wrapped = b"<IfModule mod_csppatch_absent.c>\n".to_vec();
    wrapped.extend_from_slice(&std::fs::read(file).unwrap());
    wrapped.extend_from_slice(b"\n</IfModule>\n");
    let tree = Tree::new(
        &format!("Include \"{ROOT}/soak.conf\"\n"),
        &[("soak.conf", &wrapped)],
    );
    let soak = tree.root().join("soak.conf");
    match tree.configtest() {
        Ok(()) => Ok(None),
        Err(m) if structural(&m) => Ok(Some(error_line(&m, &soak) - 1)),
        Err(m) => Err(format!("{message} / {m}")),
    }
}

/// The line of `file` httpd's message points at (`Syntax error on line N of FILE`, or
/// `FILE:N:` in a `was not closed` list).
fn error_line(message: &str, file: &Path) -> usize {
    let name = file.display().to_string();
    if let Some(i) = message.rfind(&format!("{name}:")) {
        let rest = &message[i + name.len() + 1..];
        if let Some(n) = rest.split(':').next().and_then(|n| n.parse().ok()) {
            return n;
        }
    }
    let i = message
        .rfind("Syntax error on line ")
        .expect("a line number");
    let rest = &message[i + "Syntax error on line ".len()..];
    rest.split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

fn check_against_httpd(files: &[PathBuf]) -> (usize, usize, Vec<String>) {
    let modules = all_modules();
    let (mut agreed, mut undecided, mut notes) = (0, 0, Vec::new());
    for file in files {
        let src = std::fs::read(file).unwrap();
        let ours = Apache.find(file, &src);
        match httpd_verdict(file, &modules) {
            Ok(None) => {
                assert!(
                    ours.is_ok(),
                    "{}: httpd accepts it, find() refused: {:?}",
                    file.display(),
                    ours.err()
                );
                agreed += 1;
            }
            Ok(Some(line)) => {
                let e = ours.expect_err(&format!("{}: httpd refuses it", file.display()));
                assert_eq!(
                    e.location.as_ref().map(|l| l.line),
                    Some(line),
                    "{}: {e:?}",
                    file.display()
                );
                notes.push(format!("{}:{line}: {}", file.display(), e.message));
                agreed += 1;
            }
            Err(other) => {
                // httpd stopped before reading the whole file (a module or path it lacks):
                // its verdict says nothing about the structure, so find() must accept it.
                assert!(ours.is_ok(), "{}: {:?}", file.display(), ours.err());
                undecided += 1;
                notes.push(format!(
                    "{}: httpd stops first on: {}",
                    file.display(),
                    other.lines().last().unwrap_or_default()
                ));
            }
        }
    }
    (agreed, undecided, notes)
}

#[test]
fn httpd_agrees_on_the_certbot_conf_files() {
    if !common::have_corpus() || !common::have("apache2") {
        return;
    }
    let dir = common::corpus_dir().join("apache/certbot-conf-files");
    let files: Vec<PathBuf> = corpus_files()
        .into_iter()
        .filter(|f| f.starts_with(&dir) && !f.ends_with("LICENSE.txt"))
        .collect();
    let (agreed, undecided, notes) = check_against_httpd(&files);
    eprintln!("certbot-conf-files: httpd agrees on {agreed}, {undecided} not decidable");
    for n in &notes {
        eprintln!("  {n}");
    }
    assert_eq!(agreed + undecided, files.len());
    // failing/ fails certbot's parser, not httpd's: all three parse.
    for name in [
        "missing-double-quote-1724.conf",
        "multivhost-1093.conf",
        "multivhost-1093b.conf",
    ] {
        let f = dir.join("failing").join(name);
        assert!(Apache.find(&f, &std::fs::read(&f).unwrap()).is_ok());
    }
}

/// Broken on purpose: each is refused by httpd and by `find()`, at the same line.
const BROKEN: &[(&str, &str, &str)] = &[
    ("unclosed.conf", "<VirtualHost *:80>\n  <Directory /srv>\n  Header set Content-Security-Policy \"default-src 'self'\"\n  </Directory>\n", "APA001"),
    ("mismatch.conf", "<Directory /srv>\n  Header set X y\n</Location>\n", "APA002"),
    ("stray.conf", "Header set X y\n</Directory>\n", "APA002"),
    ("ifmodule-comment.conf", "<IfModule headers_module>\nHeader set X y\n</IfModule> # headers\n", "APA002"),
    ("bracket.conf", "<Directory /srv\n</Directory>\n", "APA003"),
    ("closing-bracket.conf", "<Directory /srv>\n</Directory\n", "APA003"),
    ("trailing-comment.conf", "<Directory /srv>\n  Header always set Content-Security-Policy \"default-src 'self'\" # strict\n</Directory>\n", "APA004"),
    ("hash-word.conf", "Header set Content-Security-Policy \"default-src 'self'\" #strict\n", "APA004"),
    ("percent.conf", "Header set Content-Security-Policy \"default-src 'self' https://a.example/%2e\"\n", "APA004"),
    ("bom.conf", "\u{feff}Header set Content-Security-Policy \"default-src 'self'\"\n", "APA005"),
];

#[test]
fn httpd_agrees_on_broken_files() {
    if !common::have("apache2") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, text, code) in BROKEN {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let e = Apache.find(&path, text.as_bytes()).expect_err(name);
        assert_eq!(&e.code, code, "{name}: {e:?}");
        files.push(path);
    }
    // Only the structural ones are compared through `check_against_httpd`; the Header ones
    // are refused by mod_headers, checked here directly.
    for path in &files {
        let src = std::fs::read(path).unwrap();
        let e = Apache.find(path, &src).unwrap_err();
        let tree = Tree::new(&format!("Include \"{}\"\n", path.display()), &[]);
        let message = tree.configtest().expect_err("httpd refuses it");
        assert_eq!(
            Some(error_line(&message, path)),
            e.location.as_ref().map(|l| l.line),
            "{}: httpd said {message}",
            path.display()
        );
        eprintln!(
            "{}:{} {} | httpd: {}",
            path.display(),
            e.location.unwrap().line,
            e.message,
            message.lines().last().unwrap_or_default()
        );
    }
}

#[test]
fn the_base_configuration_passes_configtest() {
    if !common::have("apache2") {
        return;
    }
    assert_eq!(common::apache::configtest(""), Ok(()));
    let modules = all_modules();
    assert_eq!(Tree::new(&modules, &[]).configtest(), Ok(()));
}
