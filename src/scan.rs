//! Walk the paths the user gave, pick each file's dialect, find the server's main config and
//! follow includes the way the server does, reading and scanning every file exactly once.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use crate::diag::{quoted, Diagnostic, Location};
use crate::dialect::include::has_glob;
use crate::dialect::{ConfigFile, Dialect, DialectKind};
use crate::site::FileScan;
use crate::temp_name;

mod bounded;
mod embedded;
use bounded::Contents;
pub use bounded::MAX_FILE;

/// One file of the configuration, read and scanned.
#[derive(Debug)]
pub struct ScannedFile {
    /// The path as the user sees it (as given, walked, or as the include resolved).
    pub path: PathBuf,
    /// The regular file behind it (symlinks resolved): what is written, and the identity
    /// used to read each file once.
    pub target: PathBuf,
    pub dialect: DialectKind,
    /// The template engine the file is written for (`nginx.conf.j2`), if any.
    pub template: Option<crate::template::FileTemplate>,
    /// Shared with the report (`FileChange::before`) rather than copied.
    pub src: std::sync::Arc<[u8]>,
    /// `Err`: the file does not parse (the diagnostic has file:line).
    pub scan: Result<FileScan, Diagnostic>,
    /// For each of `scan.includes`, the files it resolved to (indices into `FileSet::files`).
    pub included: Vec<Vec<usize>>,
    /// Named by the user, or included (transitively) by such a file: csppatch may edit it.
    /// Other files (the main config and what it includes) are read for context only.
    pub in_scope: bool,
    /// The server's main config file.
    pub is_root: bool,
    /// Its hard-link count when it was read: what the pre-write E027 says without a `stat`
    /// per changed file (the write checks the open file again).
    pub links: u64,
    /// The main configs (indices into `FileSet::files`) that include this file, directly or not
    /// (a root lists itself): what `--validate` runs to check it.
    pub roots: Vec<usize>,
    /// In scope, or part of a main config that includes the given files. A system main
    /// config that turned out unrelated to the paths (and what it includes) is not.
    pub relevant: bool,
}

/// Every file a run read: the given ones, the main configs found, and what they include.
#[derive(Debug, Default)]
pub struct FileSet {
    pub files: Vec<ScannedFile>,
    /// Main config files found, per dialect (several if the paths belong to several servers).
    pub roots: Vec<(DialectKind, usize)>,
    /// Problems with the paths themselves (missing, unreadable, unknown dialect).
    pub diagnostics: Vec<Diagnostic>,
    /// Files walked over that are not configuration csppatch knows.
    pub skipped: usize,
    /// Files and directories left out by `--exclude`.
    pub excluded: std::collections::BTreeSet<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// `--dialect`; `None` is auto.
    pub dialect: Option<DialectKind>,
    /// `--conf-root`.
    pub conf_root: Option<PathBuf>,
    /// Where to look for the system-wide main config when none is found above the paths
    /// (`/` in real use; a test can point it at a fake root).
    pub system_root: PathBuf,
    /// `--exclude`: files never read, walked over or included (see `exclude.rs`).
    pub exclude: Vec<crate::exclude::Exclude>,
    /// `--skip-unknown`: a file that is not a server config csppatch can read is skipped,
    /// not an error (pre-commit passes every staged file the hook's filter lets through).
    pub skip_unknown: bool,
    /// `--template`, `--template-vars`.
    pub template: crate::template::Settings,
}

/// How a file came to be read: what csppatch says when it cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    /// Named on the command line, or the main config (found or `--conf-root`).
    Named,
    /// Found by walking a directory that was named.
    Walked,
    /// The target of an include.
    Included,
}

pub fn scan(paths: &[PathBuf], opts: &ScanOptions) -> FileSet {
    let mut s = Scanner {
        opts,
        set: FileSet::default(),
        by_id: HashMap::new(),
        by_path: HashMap::new(),
        glob_cache: HashMap::new(),
    };
    let mut given = Vec::new();
    for p in paths {
        s.collect_given(p, &mut given);
    }
    let given_dialects: HashSet<DialectKind> =
        given.iter().map(|&i| s.set.files[i].dialect).collect();
    let roots = s.find_roots(&given, &given_dialects);
    s.follow_includes(&roots);
    // Keep a root only if it includes one of the given files (or was given, or named
    // with --conf-root): a system nginx.conf unrelated to a repository of configs is no root.
    let reach = s.reachable_from(&roots);
    for (kind, idx) in roots {
        let explicit = s.opts.conf_root.is_some();
        if explicit
            || given.contains(&idx)
            || given
                .iter()
                .any(|g| reach.get(&idx).is_some_and(|r| r.contains(g)))
        {
            s.set.files[idx].is_root = true;
            s.set.roots.push((kind, idx));
        }
    }
    for &(_, r) in &s.set.roots.clone() {
        for &i in &reach[&r] {
            s.set.files[i].relevant = true;
            s.set.files[i].roots.push(r);
        }
    }
    // Scope: the given files and everything they include.
    let mut queue: VecDeque<usize> = given.iter().copied().collect();
    while let Some(i) = queue.pop_front() {
        if std::mem::replace(&mut s.set.files[i].in_scope, true) {
            continue;
        }
        s.set.files[i].relevant = true;
        for targets in s.set.files[i].included.clone() {
            queue.extend(targets);
        }
    }
    // The list grew by doubling and is held until the run ends: at 100,000 files a third of
    // its room was empty (13 MB).
    s.set.files.shrink_to_fit();
    s.set
}

struct Scanner<'a> {
    opts: &'a ScanOptions,
    set: FileSet,
    by_id: HashMap<(u64, u64), usize>,
    /// The set's files by the path they were walked or included by, as spelled then (its bytes:
    /// hashing and comparing a `Path` parses its components, a tenth of the include stage): an
    /// include that names one again (the main config's `include sites/*.conf` over the walked
    /// vhosts, every vhost's `include snippets/x.conf`) is that file without a `stat`. Files
    /// named on the command line are not here: an include still checks `--exclude` for them.
    by_path: HashMap<std::ffi::OsString, usize>,
    glob_cache: HashMap<(Vec<PathBuf>, String), Vec<PathBuf>>,
}

impl Scanner<'_> {
    fn collect_given(&mut self, path: &Path, given: &mut Vec<usize>) {
        if crate::exclude::excluded(&self.opts.exclude, path) {
            self.set.excluded.insert(path.to_path_buf());
            return;
        }
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.set
                    .diagnostics
                    .push(Diagnostic::error("E002", format!("{}: {e}", quoted(path))));
                return;
            }
        };
        if let Some(what) = bounded::non_regular(meta.file_type()).filter(|_| !meta.is_dir()) {
            self.set
                .diagnostics
                .push(not_regular(path, what, Reached::Named));
            return;
        }
        if meta.is_file() {
            match self.add_file(path, self.opts.dialect, Reached::Named) {
                Some(i) => given.push(i),
                None if self.opts.dialect.is_none() => {
                    let message = format!(
                        "{}: cannot tell which server this file is for",
                        quoted(path)
                    );
                    let help = format!(
                        "pass --dialect {}",
                        DialectKind::all()
                            .map(DialectKind::name)
                            .collect::<Vec<_>>()
                            .join("|")
                    );
                    if !self.opts.skip_unknown {
                        self.set
                            .diagnostics
                            .push(Diagnostic::error("E003", message).with_help(help));
                    } else if mentions_csp(&bounded::head(path, MAX_FILE)) {
                        // Skipped, but a CSP csppatch cannot see is said, not passed over.
                        self.set.diagnostics.push(
                            Diagnostic::warning("E003", format!("{message}; it mentions Content-Security-Policy and was skipped: check it by hand"))
                                .with_help(help),
                        );
                    }
                }
                None => {}
            }
            return;
        }
        let walker = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by(crate::dialect::include::by_name)
            .into_iter();
        // `--exclude` prunes a directory whole.
        let opts = self.opts;
        let excluded = std::cell::RefCell::new(Vec::new());
        let kept = |e: &walkdir::DirEntry| {
            let out = crate::exclude::excluded(&opts.exclude, e.path());
            if out {
                excluded.borrow_mut().push(e.path().to_path_buf());
            }
            !out
        };
        // The walk first (cheap, and its order is the run's), then the files are read and
        // scanned on several threads, then added in the walk's order: the same set, diagnostics
        // and output as one file after another.
        let mut walked = Vec::new();
        for entry in walker.filter_entry(|e| e.depth() == 0 || (!is_ignored_dir(e) && kept(e))) {
            match entry {
                Ok(e) if temp_name::is_temp(e.path()) => {}
                Ok(e) if e.file_type().is_file() => {
                    // walkdir read from the directory whether the entry is a link: no lstat.
                    let link = e.path_is_symlink();
                    walked.push(Walked::File(e.into_path(), link));
                }
                Ok(e) if !e.file_type().is_dir() => {
                    if let Some(what) = bounded::non_regular(e.file_type()) {
                        walked.push(Walked::Said(not_regular(e.path(), what, Reached::Walked)));
                    }
                }
                Ok(_) => {}
                Err(e) => walked.push(Walked::Said(Diagnostic::warning(
                    "E004",
                    format!("cannot walk: {e}"),
                ))),
            }
        }
        // A chunk at a time: loaded files wait in a list until they are committed in walk
        // order, and the whole tree's list beside the set was the run's peak (50 MB at
        // 100,000 files).
        let mut walked = walked.into_iter().peekable();
        while walked.peek().is_some() {
            let chunk: Vec<Walked> = walked.by_ref().take(WALK_CHUNK).collect();
            let files: Vec<(&Path, bool)> = chunk
                .iter()
                .filter_map(|w| match w {
                    Walked::File(p, link) => Some((p.as_path(), *link)),
                    Walked::Said(_) => None,
                })
                .collect();
            let mut loaded = load_walked(self.opts, &self.by_id, &files).into_iter();
            drop(files);
            for w in chunk {
                match w {
                    Walked::File(path, _) => {
                        if let Some(i) = loaded.next().and_then(|l| self.commit(l)) {
                            self.by_path.insert(path.into_os_string(), i);
                            given.push(i);
                        }
                    }
                    Walked::Said(d) => self.set.diagnostics.push(d),
                }
            }
        }
        self.set.excluded.extend(excluded.into_inner());
    }

    /// Read and scan `path` once; `None` when it is not a configuration file.
    fn add_file(
        &mut self,
        path: &Path,
        dialect: Option<DialectKind>,
        reached: Reached,
    ) -> Option<usize> {
        self.add_file_known(path, dialect, reached, None)
    }

    /// [`Scanner::add_file`], told whether `path` itself is a symlink when the caller knows
    /// (a walked entry: walkdir has it from the directory listing).
    fn add_file_known(
        &mut self,
        path: &Path,
        dialect: Option<DialectKind>,
        reached: Reached,
        is_link: Option<bool>,
    ) -> Option<usize> {
        let loaded = load(self.opts, &self.by_id, path, dialect, reached, is_link);
        self.commit(loaded)
    }

    /// Add what [`load`] gave to the set, as reading the file here would have: a file already
    /// in the set (by inode) is that file, and nothing it said is kept.
    fn commit(&mut self, loaded: Loaded) -> Option<usize> {
        if let Some(&i) = loaded.id.as_ref().and_then(|id| self.by_id.get(id)) {
            return Some(i);
        }
        self.set.excluded.extend(loaded.excluded);
        self.set.diagnostics.extend(loaded.diagnostics);
        self.set.skipped += loaded.skipped;
        let file = loaded.file?;
        let i = self.set.files.len();
        self.set.files.push(file);
        self.by_id.insert(loaded.id?, i);
        Some(i)
    }
}

/// An entry of a walked directory, in the walk's order.
enum Walked {
    /// A file to load (and whether the entry is a symlink).
    File(PathBuf, bool),
    /// A diagnostic about the entry (not a regular file, not walkable).
    Said(Diagnostic),
}

/// Walked entries loaded (in parallel) before they are added to the set.
const WALK_CHUNK: usize = 2048;

/// [`load`] each walked file, on up to [`jobs_for`](crate::par::jobs_for) threads; the
/// results in the order of `files`.
fn load_walked(
    opts: &ScanOptions,
    known: &HashMap<(u64, u64), usize>,
    files: &[(&Path, bool)],
) -> Vec<Loaded> {
    crate::par::par_map(crate::par::jobs_for(files.len()), files, |&(path, link)| {
        load(opts, known, path, opts.dialect, Reached::Walked, Some(link))
    })
}

/// What reading and scanning one file gave, before it joins the set ([`Scanner::commit`]):
/// loading touches nothing shared, so walked files are loaded on several threads.
#[derive(Default)]
struct Loaded {
    /// The file's identity (device, inode), once its metadata was read.
    id: Option<(u64, u64)>,
    /// What the file said, in order.
    diagnostics: Vec<Diagnostic>,
    skipped: usize,
    excluded: Option<PathBuf>,
    /// The file, when it is configuration csppatch reads.
    file: Option<ScannedFile>,
}

/// Read and scan `path`: [`Scanner::add_file`] without its effect on the set. `known` is the
/// set's files by inode: one of those is not read again.
fn load(
    opts: &ScanOptions,
    known: &HashMap<(u64, u64), usize>,
    path: &Path,
    dialect: Option<DialectKind>,
    reached: Reached,
    is_link: Option<bool>,
) -> Loaded {
    let mut out = Loaded::default();
    let explicit = reached == Reached::Named;
    use std::os::unix::fs::MetadataExt;
    // Includes and main configs too: what only an excluded file includes is never seen.
    if !explicit && crate::exclude::excluded(&opts.exclude, path) {
        out.excluded = Some(path.to_path_buf());
        return out;
    }
    // Identity is the inode (a file reached through a symlink, a second include or two
    // spellings of one path is read once); a realpath per file would cost a readlink per
    // path component, which dominates on a 10,000-vhost tree.
    // A walked file is a regular file by the walk (the directory entry's type, or walkdir's
    // stat of a link's target): it is opened at once and its identity read from the open
    // file, one `stat` fewer. Anything else is looked at before it is opened: opening a
    // device can do something.
    let (meta, opened) = if reached == Reached::Walked {
        match bounded::open(path) {
            Ok((file, meta)) => (meta, Some(file)),
            Err(e) => {
                out.diagnostics.push(unreadable(path, e));
                return out;
            }
        }
    } else {
        match fs::metadata(path) {
            Ok(m) => (m, None),
            Err(e) => {
                out.diagnostics.push(unreadable(path, e));
                return out;
            }
        }
    };
    let id = (meta.dev(), meta.ino());
    out.id = Some(id);
    if known.contains_key(&id) {
        return out;
    }
    if let Some(what) = bounded::non_regular(meta.file_type()) {
        out.diagnostics.push(not_regular(path, what, reached));
        return out;
    }
    // Writes go to the file behind a symlink, never over the link itself; a symlinked
    // directory above needs nothing (the rename happens inside the real directory).
    let is_link = is_link.unwrap_or_else(|| {
        fs::symlink_metadata(path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false)
    });
    // Absolute either way: validators run from other directories (a wrapper config).
    let target = if is_link {
        fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    } else {
        crate::edit::absolute(path).unwrap_or_else(|_| path.to_path_buf())
    };
    // `meta` said a regular file: `bounded::read` checks the open file again (a walked file's
    // `meta` is the open file's own).
    let read = match &opened {
        Some(file) => bounded::read_open(file, &meta),
        None => bounded::read(&target),
    };
    let src = match read {
        Ok(Contents::Bytes(s)) => s,
        Ok(Contents::NotRegular(what)) => {
            out.diagnostics.push(not_regular(path, what, reached));
            return out;
        }
        Ok(Contents::TooLarge { csp }) => {
            out.skipped += 1;
            out.diagnostics.push(too_large(path, csp, reached));
            return out;
        }
        Err(e) => {
            out.diagnostics.push(unreadable(path, e));
            return out;
        }
    };
    let head = &src[..src.len().min(16 * 1024)];
    let guessed = if dialect.is_none() {
        crate::template::detect_dialect_guess(path, head)
    } else {
        None
    };
    let kind = match dialect.or(guessed.map(|(k, _)| k)) {
        Some(k) if dialect.is_none() || !explicit_non_config(path) => k,
        _ => {
            out.skipped += 1;
            if reached == Reached::Walked {
                out.diagnostics.extend(embedded_sender(path, &src));
            }
            return out;
        }
    };
    // A symlink is shown as the file behind it (sites-available/x for sites-enabled/x):
    // that is what changes, a diff naming the link would not apply with `patch`, and
    // every message about the file (parse errors included) names the same path.
    let shown_path = if is_link {
        shown(&target)
    } else {
        path.to_path_buf()
    };
    let template = crate::template::detect(path, &src, kind, &opts.template);
    let mut scan = crate::template::dialect(kind, template.as_ref()).find(&shown_path, &src);
    if let Ok(found) = &mut scan {
        found.shrink();
    }
    // `--skip-unknown`: taken for a server config by its content alone (logrotate's
    // `/var/log/*.log { ... }` reads like nginx), it does not parse and never names the
    // header: not a web-server config, so not an error.
    // A walked file likewise (a web app's `.xlf` translations or `manifest.webmanifest`
    // beside its nginx config): nobody named it, and an error over a file that is no
    // configuration would stop the whole run.
    let by_content_only = (opts.skip_unknown
        || reached == Reached::Walked && !config_like_name(path))
        && dialect.is_none()
        && crate::template::detect_dialect(path, &[]).is_none();
    if let (true, Err(e)) = (by_content_only, &scan) {
        let names_csp = mentions_csp(&src);
        // One that names the header (a translation file's `csp_help = Content-Security-Policy
        // ...`) is said, not passed over, and --check does not pass; it does not stop the run
        // as a broken config would: nothing says it is one.
        if names_csp && reached == Reached::Walked {
            let line = e.location.as_ref().map_or(1, |l| l.line);
            out.diagnostics.push(
                    Diagnostic::warning(
                        "E003",
                        format!(
                            "{}: its name does not say which server reads it, and read as {} by its content it does not parse (line {line}: {}): skipped; it mentions Content-Security-Policy: check it by hand",
                            quoted(path),
                            kind.dialect().name(),
                            e.message
                        ),
                    )
                    .with_help(format!("if {} reads it, pass it with --dialect {}", kind.dialect().name(), kind.dialect().name())),
                );
        }
        if !names_csp || reached == Reached::Walked {
            out.skipped += 1;
            return out;
        }
    }
    if let Some((_, Some(other))) = guessed {
        if scan.is_err() || mentions_csp(&src) {
            out.diagnostics.push(
                    Diagnostic::note(
                        "E050",
                        format!(
                            "read as {} by its content: its name does not say which server reads it, and it reads almost as well as {}",
                            kind.dialect().name(),
                            other.dialect().name()
                        ),
                    )
                    .at(Location {
                        path: shown_path.clone(),
                        line: 1,
                        col: 1,
                    })
                    .with_help(format!(
                        "if {} reads this file, pass --dialect {}",
                        other.dialect().name(),
                        other.dialect().name()
                    )),
                );
        }
    }
    out.file = Some(ScannedFile {
        path: shown_path,
        target: target.clone(),
        dialect: kind,
        template,
        src: src.into(),
        scan,
        included: Vec::new(),
        in_scope: false,
        is_root: false,
        links: meta.nlink(),
        roots: Vec::new(),
        relevant: false,
    });
    out
}

fn unreadable(path: &Path, e: std::io::Error) -> Diagnostic {
    Diagnostic::error("E002", format!("{}: {e}", quoted(path)))
}

/// A FIFO, a device or a socket where a file was expected: never read (it could block or
/// never end). Named or included, an error: the server itself would refuse it or hang;
/// met while walking a directory, a warning.
fn not_regular(path: &Path, what: &str, reached: Reached) -> Diagnostic {
    let message = match reached {
            Reached::Included => format!(
                "{}: an include names it, but it is {what}, not a regular file: not read (httpd refuses it, nginx would hang or fail on it)",
                quoted(path)
            ),
            _ => format!("{}: {what}, not a regular file: not read", quoted(path)),
        };
    match reached {
        Reached::Walked => Diagnostic::warning("E007", message),
        _ => Diagnostic::error("E007", message),
    }
}

/// A walked file that is no configuration csppatch reads, but holds a server directive
/// sending a CSP (a Kubernetes Ingress snippet, a heredoc in a shell script): E065.
fn embedded_sender(path: &Path, src: &[u8]) -> Option<Diagnostic> {
    let (offset, what) = embedded::first_sender(path, src)?;
    Some(
            Diagnostic::warning(
                "E065",
                format!(
                    "{what} sends a Content-Security-Policy here, in a file csppatch does not read (not a server configuration by its name or content): the policy it sends is not checked"
                ),
            )
            .at(crate::diag::Location::of(path, src, offset))
            .with_help(if what.contains("variables file") {
                "a template writes this value into the server configuration (a loop such as `add_header {{ header }};`), where csppatch cannot see it: add the vendor's sources to this value by hand, or run csppatch on the rendered configuration"
            } else {
                "a server configuration under another name: name it with --dialect; else add the vendor's sources to it by hand (or to the configuration it is copied into, and run csppatch there), or --exclude it if it is not deployed"
            }),
        )
}

/// A file over [`MAX_FILE`]. One that mentions a CSP, or that an include brings into the
/// configuration, is an error: skipping it could leave a policy unpatched, and the run
/// must not end as "nothing to change". Otherwise (a log beside the configs) a warning.
fn too_large(path: &Path, csp: bool, reached: Reached) -> Diagnostic {
    let limit = MAX_FILE >> 20;
    let message = if csp {
        format!(
                "{}: larger than {limit} MiB and it mentions Content-Security-Policy: csppatch does not read files that large, so it cannot patch it; nothing was written",
                quoted(path)
            )
    } else {
        format!("{}: larger than {limit} MiB: not read", quoted(path))
    };
    let d = if csp || reached == Reached::Included {
        Diagnostic::error("E005", message)
    } else {
        Diagnostic::warning("E005", message)
    };
    let help = if reached == Reached::Included {
        "an include brings it into the configuration: split it, or move the policy into a file of its own"
    } else {
        "configuration files are small: leave it out (--exclude), or split it"
    };
    d.with_help(help)
}

impl Scanner<'_> {
    /// The main config of each dialect present: `--conf-root`, else the nearest one above a
    /// given path, else the system one.
    fn find_roots(
        &mut self,
        given: &[usize],
        dialects: &HashSet<DialectKind>,
    ) -> Vec<(DialectKind, usize)> {
        let mut roots = Vec::new();
        if let Some(root) = self.opts.conf_root.clone() {
            let dialect = self.opts.dialect.or_else(|| {
                crate::template::detect_dialect(&root, &bounded::head(&root, 16 * 1024))
            });
            let diagnostics = self.set.diagnostics.len();
            match self.add_file(&root, dialect, Reached::Named) {
                Some(i) => roots.push((self.set.files[i].dialect, i)),
                // Already said why (not a regular file, too large, unreadable).
                None if self.set.diagnostics.len() > diagnostics => {}
                None => self.set.diagnostics.push(Diagnostic::error(
                    "E002",
                    format!(
                        "--conf-root {}: not a configuration file csppatch can read",
                        quoted(&root)
                    ),
                )),
            }
            return roots;
        }
        let mut seen = HashSet::new();
        for kind in DialectKind::all() {
            let names = kind.dialect().main_config_names();
            if names.is_empty() || !dialects.contains(&kind) {
                continue;
            }
            let mut found = false;
            let of_kind: Vec<usize> = given
                .iter()
                .copied()
                .filter(|&g| self.set.files[g].dialect == kind)
                .collect();
            // Each directory is looked at once: 10,000 vhosts in one directory share the answer.
            let mut memo: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
            let mut seen_as_found: HashSet<PathBuf> = HashSet::new();
            for g in of_kind {
                let start = self.set.files[g].target.clone();
                let mut walked = Vec::new();
                let mut answer = None;
                for dir in start.ancestors().skip(1) {
                    if let Some(known) = memo.get(dir) {
                        answer = known.clone();
                        break;
                    }
                    walked.push(dir.to_path_buf());
                    if let Some(cand) = names.iter().map(|n| dir.join(n)).find(|c| c.is_file()) {
                        answer = Some(cand);
                        break;
                    }
                }
                for dir in walked {
                    memo.insert(dir, answer.clone());
                }
                let Some(cand) = answer else { continue };
                found = true;
                if seen_as_found.insert(cand.clone())
                    && seen.insert(fs::canonicalize(&cand).unwrap_or(cand.clone()))
                {
                    if let Some(i) = self.add_file(&cand, Some(kind), Reached::Named) {
                        roots.push((kind, i));
                    }
                }
            }
            if !found {
                if let Some(system) = kind.dialect().system_main_config() {
                    let cand = self.opts.system_root.join(system);
                    if cand.is_file() {
                        if let Some(i) = self.add_file(&cand, Some(kind), Reached::Named) {
                            roots.push((kind, i));
                        }
                    }
                }
            }
        }
        roots
    }

    /// Resolve and scan includes until no new file appears.
    fn follow_includes(&mut self, roots: &[(DialectKind, usize)]) {
        let mut next = 0;
        while next < self.set.files.len() {
            let i = next;
            next += 1;
            let includes = match &self.set.files[i].scan {
                Ok(scan) => scan.includes.clone(),
                Err(_) => continue,
            };
            let kind = self.set.files[i].dialect;
            let bases = self.include_bases(i, roots);
            let mut resolved = Vec::with_capacity(includes.len());
            for inc in &includes {
                let paths = self.resolve(&bases, kind, &inc.pattern);
                if paths.is_empty() && !inc.optional && !has_glob(&inc.pattern) {
                    let file = &self.set.files[i];
                    let (line, col) = crate::diag::line_col(&file.src, inc.offset);
                    self.set.diagnostics.push(
                        Diagnostic::warning(
                            "E006",
                            format!(
                                "include `{}` matches no file (looked in {})",
                                inc.pattern,
                                bases
                                    .first()
                                    .map(|b| quoted(b).into_owned())
                                    .unwrap_or_default()
                            ),
                        )
                        .at(Location {
                            path: file.path.clone(),
                            line,
                            col,
                        }),
                    );
                }
                let mut targets = Vec::new();
                for p in paths {
                    if let Some(&t) = self.by_path.get(p.as_os_str()) {
                        targets.push(t);
                    } else if let Some(t) = self.add_file(&p, Some(kind), Reached::Included) {
                        self.by_path.insert(p.into_os_string(), t);
                        targets.push(t);
                    }
                }
                resolved.push(targets);
            }
            self.set.files[i].included = resolved;
        }
    }

    /// Where relative includes of file `i` are looked up, as its dialect says: the server's
    /// base (from the run's main config of that dialect, if any), then fallbacks.
    fn include_bases(&self, i: usize, roots: &[(DialectKind, usize)]) -> Vec<PathBuf> {
        let file = &self.set.files[i];
        let dir = file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let root = roots
            .iter()
            .find(|(k, _)| *k == file.dialect)
            .map(|&(_, r)| config_file(&self.set.files[r]));
        let mut bases = file.dialect.dialect().include_bases(&dir, root.as_ref());
        bases.dedup();
        bases
    }

    fn resolve(&mut self, bases: &[PathBuf], kind: DialectKind, pattern: &str) -> Vec<PathBuf> {
        // The bases are part of the key: without a main config the including file's
        // directory is searched too, so the same pattern can name different files for
        // different includers.
        let key = (bases.to_vec(), pattern.to_string());
        if let Some(hit) = self.glob_cache.get(&key) {
            return hit.clone();
        }
        let mut out = Vec::new();
        let known = |p: &Path| self.by_path.contains_key(p.as_os_str());
        for base in bases {
            out = kind.dialect().expand_include(&base.join(pattern), &known);
            // A killed run's temporary file is never configuration, however it is reached
            // (Caddy's glob and Apache's directory include match dotfiles).
            out.retain(|p| !temp_name::is_temp(p));
            if !out.is_empty() {
                break;
            }
        }
        self.glob_cache.insert(key, out.clone());
        out
    }

    fn reachable_from(&self, roots: &[(DialectKind, usize)]) -> HashMap<usize, HashSet<usize>> {
        let mut out = HashMap::new();
        for &(_, r) in roots {
            let mut seen = HashSet::new();
            let mut stack = vec![r];
            while let Some(i) = stack.pop() {
                if seen.insert(i) {
                    stack.extend(self.set.files[i].included.iter().flatten().copied());
                }
            }
            out.insert(r, seen);
        }
        out
    }
}

/// `path` relative to the current directory when it is below it, else as it is. `getcwd`
/// gives the directory with its symlinks resolved, as `path` (a canonicalized target) is.
fn shown(path: &Path) -> PathBuf {
    let cwd = crate::edit::working_dir();
    match cwd.and_then(|c| path.strip_prefix(c).ok().map(Path::to_path_buf)) {
        Some(rel) if !rel.as_os_str().is_empty() => rel,
        _ => path.to_path_buf(),
    }
}

fn is_ignored_dir(e: &walkdir::DirEntry) -> bool {
    let name = e.file_name().to_string_lossy();
    e.file_type().is_dir()
        && (matches!(
            name.as_ref(),
            "node_modules" | "target" | "vendor" | "__pycache__"
        ) || name.starts_with('.'))
}

/// A file name's extension in lower case ("" for none).
fn lower_ext(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A name a server config is often saved under though it does not say which server's (`.conf`
/// is nginx's and Apache's; `sites-enabled/example` has no extension): a walked file so named
/// that does not parse is an error, as a broken config is, not skipped.
fn config_like_name(path: &Path) -> bool {
    matches!(
        lower_ext(path).as_str(),
        "" | "conf"
            | "cnf"
            | "cfg"
            | "config"
            | "vhost"
            | "site"
            | "inc"
            | "include"
            | "template"
            | "tmpl"
            | "tpl"
            | "j2"
            | "jinja"
            | "jinja2"
            | "erb"
            | "nginx"
            | "apache"
            | "httpd"
            | "caddy"
    )
}

fn mentions_csp(src: &[u8]) -> bool {
    let needle = b"content-security-policy";
    src.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// With an explicit `--dialect`, files that are clearly not configuration are still skipped.
fn explicit_non_config(path: &Path) -> bool {
    matches!(
        lower_ext(path).as_str(),
        "pem" | "crt" | "key" | "png" | "jpg" | "gif" | "ico" | "gz" | "zip" | "md" | "swp"
    )
}

/// The dialects' view of a scanned file.
pub fn config_file(f: &ScannedFile) -> ConfigFile<'_> {
    ConfigFile {
        path: &f.path,
        target: &f.target,
        src: &f.src,
        scan: f.scan.as_ref().ok(),
    }
}

/// Group file indices by dialect, for per-server steps (linking, tree checks, validation).
pub fn by_dialect(set: &FileSet) -> BTreeMap<DialectKind, Vec<usize>> {
    let mut out: BTreeMap<DialectKind, Vec<usize>> = BTreeMap::new();
    for (i, f) in set.files.iter().enumerate() {
        out.entry(f.dialect).or_default().push(i);
    }
    out
}
