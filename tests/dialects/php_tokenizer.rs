//! Differential test of the PHP tokenizer against PHP's own (`token_get_all`): the same
//! string literals, comments, open/close tags, inline HTML and variables, at the same bytes.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use csppatch::dialect::php::lexer::{tokenize, Kind, Part, Quote};

/// Prints "NAME OFFSET LENGTH" for every top-level token of the kinds compared; a string
/// with interpolations (`"`, `` ` ``, heredoc) is one "STRING" from its opening to its end.
const DUMP: &str = r#"<?php
$src = file_get_contents($argv[1]);
$off = 0; $stack = []; $keep = ['T_CONSTANT_ENCAPSED_STRING', 'T_COMMENT', 'T_DOC_COMMENT',
  'T_INLINE_HTML', 'T_OPEN_TAG', 'T_OPEN_TAG_WITH_ECHO', 'T_CLOSE_TAG', 'T_VARIABLE'];
foreach (token_get_all($src) as $t) {
    if (is_array($t)) { $name = token_name($t[0]); $text = $t[1]; } else { $name = $t; $text = $t; }
    $len = strlen($text);
    $top = end($stack);
    if (!$stack && in_array($name, $keep, true)) { echo "$name $off $len\n"; }
    if ($top && $top[0] === 'str') {
        $closes = ($name === '"' || $name === '`') ? $top[1] === $name : ($name === 'T_END_HEREDOC' && $top[1] === 'h');
        if ($closes) { array_pop($stack); if (!$stack) { echo "STRING {$top[2]} " . ($off + $len - $top[2]) . "\n"; } }
        elseif ($name === 'T_CURLY_OPEN' || $name === 'T_DOLLAR_OPEN_CURLY_BRACES') { $stack[] = ['code', 0]; }
    } else {
        if ($name === '"' || $name === '`' || substr($text, -1) === '"' && strlen($text) === 2 && ($text[0] === 'b' || $text[0] === 'B')) { $stack[] = ['str', $name === '`' ? '`' : '"', $off]; }
        elseif ($name === 'T_START_HEREDOC') { $stack[] = ['str', 'h', $off]; }
        elseif ($top && $top[0] === 'code') {
            if ($name === '{' || $name === 'T_CURLY_OPEN' || $name === 'T_DOLLAR_OPEN_CURLY_BRACES') { $stack[count($stack) - 1][1]++; }
            elseif ($name === '}') { if ($top[1] === 0) { array_pop($stack); } else { $stack[count($stack) - 1][1]--; } }
        }
    }
    $off += $len;
}
"#;

fn ours(src: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokenize(src).expect("tokenizes") {
        let (s, n) = (t.span.start, t.span.len());
        let name = match &t.kind {
            Kind::Str(l) => {
                let interpolated = l.parts.iter().any(|p| matches!(p, Part::Interp(_)));
                match l.quote {
                    Quote::Single => "T_CONSTANT_ENCAPSED_STRING",
                    Quote::Double if !interpolated => "T_CONSTANT_ENCAPSED_STRING",
                    _ => "STRING",
                }
            }
            Kind::Comment => "T_COMMENT",
            // PHP reports the bytes after __halt_compiler(); as inline HTML.
            Kind::InlineHtml | Kind::HaltData => "T_INLINE_HTML",
            Kind::OpenTag if t.text(src).starts_with(b"<?=") => "T_OPEN_TAG_WITH_ECHO",
            Kind::OpenTag => "T_OPEN_TAG",
            Kind::CloseTag => "T_CLOSE_TAG",
            Kind::Variable => "T_VARIABLE",
            _ => continue,
        };
        out.push(format!("{name} {s} {n}"));
    }
    out
}

fn theirs(path: &Path, script: &Path) -> Vec<String> {
    let out = Command::new("php")
        .arg(script)
        .arg(path)
        .output()
        .expect("php runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // PHP tells doc comments apart; the tokenizer here does not need to.
        .map(|l| l.replacen("T_DOC_COMMENT", "T_COMMENT", 1))
        .collect()
}

/// Corners of the scanner that decide where a literal ends.
const TRICKY: &[&str] = &[
    "<?php echo 'a\\'b\\\\' . \"c\\\"$d[0]{$e['}']}${f}\\{$g}\" . `ls $h`; ?>\n<b>x</b><?= $i ?>",
    "<?php # comment ?> html <?php // c2\r\n$x = 1.5.'a'.0x1F.1e3 . .5; #[Attr] function f() {}",
    "<?php $a = <<<EOT\n  a $b {$c->d} ${e}\n  EOTX\n  EOT;\n$f = <<<'NOW'\nraw $x\nNOW;\n$g = b'x' . B\"y$z\";",
    "<?php $h = <<<\"Q\"\r\nline\r\nQ . 'after';\n/** doc */ $i = \"$j->k $l?->m $n[-1] $o[p]\";",
    "<?php $x = \"{$a[\"b{$c}\"]}\"; $y = <<<A\n{$f(<<<B\ninner\nB)}\nA;\n__halt_compiler(); raw 'data",
    "text <?php\n$a='?>'; // ?> tail\n",
    "<?phpx not a tag <?php echo 1;",
    "<?php\n$s = \"a\\u{1F600}\\x41\\101\";\nheader(\"Content-Security-Policy: default-src 'self'\");\n",
];

fn system_php_files(limit: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in [
        "/usr/share/php",
        "/usr/lib/google-cloud-sdk/platform/google_appengine",
    ] {
        for entry in walkdir::WalkDir::new(root).into_iter().flatten() {
            if entry.path().extension().is_some_and(|e| e == "php") && out.len() < limit {
                out.push(entry.path().to_path_buf());
            }
        }
    }
    out
}

#[test]
fn same_literals_as_token_get_all() {
    if !common::have_seeds() || !common::have("php") {
        return;
    }
    let has_tokenizer = Command::new("php")
        .args(["-r", "exit(function_exists('token_get_all') ? 0 : 1);"])
        .status()
        .is_ok_and(|s| s.success());
    if !common::available(has_tokenizer, "php has no tokenizer extension") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("dump.php");
    std::fs::write(&script, DUMP).unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, snippet) in TRICKY.iter().enumerate() {
        let p = dir.path().join(format!("tricky{i}.php"));
        std::fs::write(&p, snippet).unwrap();
        files.push(p);
    }
    for (name, bytes) in common::php::fixtures() {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        files.push(p);
    }
    let system = system_php_files(400);
    files.extend(system.iter().cloned());
    let mut tokens = 0;
    for f in &files {
        let src = std::fs::read(f).unwrap();
        let (a, b) = (ours(&src), theirs(f, &script));
        let first_diff = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        assert_eq!(
            a,
            b,
            "{}: first difference at {first_diff}: ours {:?} php {:?}",
            f.display(),
            a.get(first_diff),
            b.get(first_diff)
        );
        tokens += a.len();
    }
    eprintln!(
        "{} files ({} from the system), {tokens} tokens identical to token_get_all",
        files.len(),
        system.len()
    );
}
