//! A file's edits as byte-range replacements, and the unified diff that shows them.
//!
//! Nothing here re-prints the file: the new bytes are the old bytes with a few ranges
//! replaced, so every byte outside a CSP value is the same byte, by construction.

use std::io::Write;
use std::ops::Range;

use similar::DiffOp;

/// Replace `range` of the file with `bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Splice {
    pub range: Range<usize>,
    pub bytes: Vec<u8>,
}

/// `src` with every splice applied. Splices may come in any order; two that overlap are a
/// bug in the caller and are refused (two insertions at the same point keep their order).
pub fn apply(src: &[u8], splices: &[Splice]) -> Result<Vec<u8>, String> {
    let mut order: Vec<&Splice> = splices.iter().collect();
    order.sort_by_key(|s| (s.range.start, s.range.end));
    let mut out =
        Vec::with_capacity(src.len() + splices.iter().map(|s| s.bytes.len()).sum::<usize>());
    let mut at = 0;
    for s in order {
        if s.range.start < at || s.range.end > src.len() || s.range.start > s.range.end {
            return Err(format!(
                "overlapping or out-of-bounds edit at bytes {}..{}",
                s.range.start, s.range.end
            ));
        }
        out.extend_from_slice(&src[at..s.range.start]);
        out.extend_from_slice(&s.bytes);
        at = s.range.end;
    }
    out.extend_from_slice(&src[at..]);
    Ok(out)
}

/// A unified diff (`--- a/PATH` / `+++ b/PATH`, 3 lines of context) of `old` to `new`, as
/// bytes: lines are written exactly as they are in the files (CRLF, non-UTF-8), so that
/// `patch -p1` or `git apply` reproduces the new file byte for byte. Plain: `render::diff`
/// colours it for a terminal.
pub fn unified_diff(old: &[u8], new: &[u8], path: &std::path::Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    // `a/` + a relative path, as git writes it: an absolute path loses its leading `/`, so
    // that `patch -p1` applies the diff from `/`, as it does from the cwd for relative ones.
    let mut path = path.as_os_str().as_bytes();
    while let Some(rest) = path.strip_prefix(b"./").or_else(|| path.strip_prefix(b"/")) {
        path = rest;
    }
    let label = |side: &[u8]| {
        let name = [side, path].concat();
        let quoted = crate::diag::quote_bytes(&name).into_owned();
        // A name with white space is followed by a tab, which GNU patch and git apply both
        // read as the end of the name; a quoted name ends at its closing quote.
        if !quoted.starts_with('"') && quoted.contains(' ') {
            quoted + "\t"
        } else {
            quoted
        }
    };
    // Lines end at `\n` only: a lone `\r` inside a line is part of it (similar's own line
    // splitting would cut there and write a patch that does not apply).
    let old_lines = lines(old);
    let new_lines = lines(new);
    let mut out = Vec::new();
    let groups = similar::group_diff_ops(line_ops(&old_lines, &new_lines), 3);
    if groups.is_empty() {
        return out;
    }
    let _ = write!(out, "--- {}\n+++ {}\n", label(b"a/"), label(b"b/"));
    for group in groups {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old_start = first.old_range().start;
        let old_len = last.old_range().end - old_start;
        let new_start = first.new_range().start;
        let new_len = last.new_range().end - new_start;
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            hunk_range(old_start, old_len),
            hunk_range(new_start, new_len)
        );
        for op in &group {
            let (tag, lines): (u8, Vec<&[u8]>) = match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    (b' ', old_lines[old_index..old_index + len].to_vec())
                }
                DiffOp::Delete {
                    old_index, old_len, ..
                } => (b'-', old_lines[old_index..old_index + old_len].to_vec()),
                DiffOp::Insert {
                    new_index, new_len, ..
                } => (b'+', new_lines[new_index..new_index + new_len].to_vec()),
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    write_lines(&mut out, b'-', &old_lines[old_index..old_index + old_len]);
                    (b'+', new_lines[new_index..new_index + new_len].to_vec())
                }
            };
            write_lines(&mut out, tag, &lines);
        }
    }
    out
}

/// The diff of two files' lines, in time linear in their length for what csppatch writes.
/// Myers' algorithm costs O(N·D), D the number of changed lines: quadratic when every line
/// changes (a `map` of 100,000 policies took minutes). csppatch's edits replace bytes inside
/// values, so the changed part has as many lines before as after, nearly always: it is then
/// compared line by line, which is the minimal diff for same-length changes. Only where the
/// line counts differ (a multi-line value written on one line) is Myers run, on the part
/// between the common first and last lines, bounded by a deadline (past it similar gives a
/// coarser but still exact diff).
fn line_ops(old: &[&[u8]], new: &[&[u8]]) -> Vec<DiffOp> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (prefix..old.len() - suffix, prefix..new.len() - suffix);
    let mut ops = Vec::new();
    if prefix > 0 {
        ops.push(DiffOp::Equal {
            old_index: 0,
            new_index: 0,
            len: prefix,
        });
    }
    if old_mid.len() == new_mid.len() {
        let mut i = prefix;
        while i < old_mid.end {
            let same = old[i] == new[i];
            let run = old[i..old_mid.end]
                .iter()
                .zip(&new[i..new_mid.end])
                .take_while(|(a, b)| (a == b) == same)
                .count();
            ops.push(if same {
                DiffOp::Equal {
                    old_index: i,
                    new_index: i,
                    len: run,
                }
            } else {
                DiffOp::Replace {
                    old_index: i,
                    old_len: run,
                    new_index: i,
                    new_len: run,
                }
            });
            i += run;
        }
    } else {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        for op in similar::capture_diff_slices_deadline(
            similar::Algorithm::Myers,
            &old[old_mid.clone()],
            &new[new_mid.clone()],
            Some(deadline),
        ) {
            ops.push(shift(op, prefix));
        }
    }
    if suffix > 0 {
        ops.push(DiffOp::Equal {
            old_index: old.len() - suffix,
            new_index: new.len() - suffix,
            len: suffix,
        });
    }
    ops
}

/// `op` with both its indexes moved by `by` lines.
fn shift(op: DiffOp, by: usize) -> DiffOp {
    match op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => DiffOp::Equal {
            old_index: old_index + by,
            new_index: new_index + by,
            len,
        },
        DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        } => DiffOp::Delete {
            old_index: old_index + by,
            old_len,
            new_index: new_index + by,
        },
        DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        } => DiffOp::Insert {
            old_index: old_index + by,
            new_index: new_index + by,
            new_len,
        },
        DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => DiffOp::Replace {
            old_index: old_index + by,
            old_len,
            new_index: new_index + by,
            new_len,
        },
    }
}

/// `bytes` cut after each `\n` (the last line may lack one).
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// The name a diff gives `path`: relative to the current directory when it is below it
/// (`..` resolved lexically, which `patch` and `git apply` refuse), else absolute. The bytes
/// are kept as they are (a name that is not UTF-8 stays that name): [`unified_diff`] quotes.
pub fn diff_label(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let Ok(abs) = absolute(path) else {
        return path.to_path_buf();
    };
    let mut clean = std::path::PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    match working_dir().and_then(|c| clean.strip_prefix(c).ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => clean,
    }
}

/// The current directory, read once per process: csppatch never changes it (nothing calls
/// `set_current_dir`), and asking the kernel per file cost two `getcwd` per changed file on a
/// fleet-size tree (README, Speed). `None` when it cannot be read (it was removed).
pub fn working_dir() -> Option<&'static std::path::Path> {
    static CWD: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    CWD.get_or_init(|| std::env::current_dir().ok()).as_deref()
}

/// [`std::path::absolute`], with a relative path joined to [`working_dir`] instead of a
/// fresh `getcwd`: the same path (`.` components dropped, `..` and a trailing `/` kept).
pub fn absolute(path: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    match working_dir() {
        Some(cwd) if path.is_relative() && !path.as_os_str().is_empty() => {
            std::path::absolute(cwd.join(path))
        }
        _ => std::path::absolute(path),
    }
}

fn write_lines(out: &mut Vec<u8>, tag: u8, lines: &[&[u8]]) {
    for line in lines {
        out.push(tag);
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        out.extend_from_slice(body);
        out.push(b'\n');
        if !line.ends_with(b"\n") {
            out.extend_from_slice(b"\\ No newline at end of file\n");
        }
    }
}

/// `start,len` in unified-diff notation (1-based; an empty range names the line before it).
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{}", start + 1, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn applies_in_any_order_and_keeps_the_rest() {
        let src = b"abcdef";
        let out = apply(
            src,
            &[
                Splice {
                    range: 4..4,
                    bytes: b"X".to_vec(),
                },
                Splice {
                    range: 1..2,
                    bytes: b"YY".to_vec(),
                },
            ],
        )
        .unwrap();
        assert_eq!(out, b"aYYcdXef");
    }

    #[test]
    fn a_diff_of_every_line_changed_is_line_by_line() {
        // 20,000 changed lines between unchanged ones: one hunk, each line once on each side
        // (Myers took O(N²) here), in the order of the files.
        let n = 20_000;
        let old: String = (0..n).map(|i| format!("    h{i} \"a\";\n")).collect();
        let new: String = (0..n).map(|i| format!("    h{i} \"a b\";\n")).collect();
        let (old, new) = (format!("map {{\n{old}}}\n"), format!("map {{\n{new}}}\n"));
        let d = String::from_utf8(unified_diff(old.as_bytes(), new.as_bytes(), Path::new("m")))
            .unwrap();
        assert_eq!(d.matches("\n@@ ").count(), 1, "one hunk");
        assert!(d.contains(&format!("@@ -1,{} +1,{} @@\n", n + 2, n + 2)));
        let minus: Vec<&str> = d.lines().filter(|l| l.starts_with("-    ")).collect();
        let plus: Vec<&str> = d.lines().filter(|l| l.starts_with("+    ")).collect();
        assert_eq!((minus.len(), plus.len()), (n, n));
        assert_eq!(minus[7], "-    h7 \"a\";");
        assert_eq!(plus[7], "+    h7 \"a b\";");
        // Line counts that differ still get Myers' diff: a value joined onto one line.
        let d = unified_diff(b"a\nb \\\n c\nd\n", b"a\nb c\nd\n", Path::new("x"));
        assert_eq!(
            String::from_utf8(d).unwrap(),
            "--- a/x\n+++ b/x\n@@ -1,4 +1,3 @@\n a\n-b \\\n- c\n+b c\n d\n"
        );
    }

    #[test]
    fn refuses_overlaps() {
        assert!(apply(
            b"abcdef",
            &[
                Splice {
                    range: 1..3,
                    bytes: vec![]
                },
                Splice {
                    range: 2..4,
                    bytes: vec![]
                }
            ]
        )
        .is_err());
        assert!(apply(
            b"abc",
            &[Splice {
                range: 2..9,
                bytes: vec![]
            }]
        )
        .is_err());
    }

    #[test]
    fn a_lone_carriage_return_stays_inside_its_line() {
        let old = b"# a\rb\nadd_header X y;\n";
        let new = b"# a\rb\nadd_header X z;\n";
        let d = unified_diff(old, new, Path::new("x.conf"));
        assert_eq!(d, b"--- a/x.conf\n+++ b/x.conf\n@@ -1,2 +1,2 @@\n # a\rb\n-add_header X y;\n+add_header X z;\n".to_vec());
    }

    #[test]
    fn names_with_spaces_end_with_a_tab() {
        let d = unified_diff(b"a\n", b"b\n", Path::new("my sites/x.conf"));
        assert!(d.starts_with(b"--- a/my sites/x.conf\t\n+++ b/my sites/x.conf\t\n"));
    }

    #[test]
    fn odd_names_are_quoted_as_git_quotes_them() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"sites/caf\xc3\xa9\xff\n\x1b.conf");
        let d = unified_diff(b"a\n", b"b\n", Path::new(name));
        let head = b"--- \"a/sites/caf\\303\\251\\377\\n\\033.conf\"\n+++ \"b/sites/caf\\303\\251\\377\\n\\033.conf\"\n";
        assert!(d.starts_with(head), "{}", String::from_utf8_lossy(&d));
        let tab = unified_diff(b"a\n", b"b\n", Path::new("my\tsite.conf"));
        assert!(tab.starts_with(b"--- \"a/my\\tsite.conf\"\n"));
    }

    #[test]
    fn labels_resolve_dot_dot_and_stay_relative_below_the_cwd() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            diff_label(Path::new("a/../b/x.conf")),
            Path::new("b/x.conf")
        );
        let outside = cwd.parent().unwrap().join("y.conf");
        assert_eq!(diff_label(Path::new("../y.conf")), outside);
    }

    /// The once-read working directory changes no path: each spelling comes out as
    /// `std::path::absolute` makes it with a fresh `getcwd`.
    #[test]
    fn absolute_is_std_absolute() {
        for p in [
            ".", "./", "./a", "a/./b", "a/../b", "a/", "a//b", "../x", "/x//y/", "//x", "///x",
            "/./a/.",
        ] {
            let p = Path::new(p);
            assert_eq!(
                absolute(p).unwrap(),
                std::path::absolute(p).unwrap(),
                "{p:?}"
            );
        }
        assert!(absolute(Path::new("")).is_err());
        assert_eq!(
            working_dir(),
            Some(std::env::current_dir().unwrap().as_path())
        );
    }

    #[test]
    fn diff_keeps_crlf_and_marks_missing_newline() {
        let old = b"a\r\nb\r\nc";
        let new = b"a\r\nB\r\nc";
        let d = unified_diff(old, new, Path::new("x.conf"));
        assert_eq!(d, b"--- a/x.conf\n+++ b/x.conf\n@@ -1,3 +1,3 @@\n a\r\n-b\r\n+B\r\n c\n\\ No newline at end of file\n".to_vec());
        assert!(unified_diff(old, old, Path::new("x")).is_empty());
        let abs = unified_diff(old, new, Path::new("/etc/nginx/nginx.conf"));
        assert!(abs.starts_with(b"--- a/etc/nginx/nginx.conf\n+++ b/etc/nginx/nginx.conf\n"));
    }
}
