//! Walk the paths the user gave, pick each file's dialect, find the server's main config and
//! follow includes the way the server does, reading and scanning every file exactly once.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Location};
use crate::dialect::{detect, Dialect, DialectKind};
use crate::site::FileScan;

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
    /// For each of `scan.includes`, the files it resolved to (indices into `Tree::files`).
    pub included: Vec<Vec<usize>>,
    /// Named by the user, or included (transitively) by such a file: csppatch may edit it.
    /// Other files (the main config and what it includes) are read for context only.
    pub in_scope: bool,
    /// The server's main config file.
    pub is_root: bool,
    /// The main configs (indices into `Tree::files`) that include this file, directly or not
    /// (a root lists itself): what `--validate` runs to check it.
    pub roots: Vec<usize>,
    /// In scope, or part of a main config that includes the given files. A system main
    /// config that turned out unrelated to the paths (and what it includes) is not.
    pub relevant: bool,
}

#[derive(Debug, Default)]
pub struct Tree {
    pub files: Vec<ScannedFile>,
    /// Main config files found, per dialect (several if the paths belong to several servers).
    pub roots: Vec<(DialectKind, usize)>,
    /// Problems with the paths themselves (missing, unreadable, unknown dialect).
    pub diagnostics: Vec<Diagnostic>,
    /// Files walked over that are not configuration csppatch knows.
    pub skipped: usize,
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
    /// `--template`, `--template-vars`.
    pub template: crate::template::Settings,
}

/// Files bigger than this are not configuration (a log, a dump): skipped with a note.
const MAX_FILE: u64 = 16 << 20;

pub fn scan(paths: &[PathBuf], opts: &ScanOptions) -> Tree {
    let mut s = Scanner {
        opts,
        tree: Tree::default(),
        by_id: HashMap::new(),
        glob_cache: HashMap::new(),
    };
    let mut given = Vec::new();
    for p in paths {
        s.collect_given(p, &mut given);
    }
    let given_dialects: HashSet<DialectKind> =
        given.iter().map(|&i| s.tree.files[i].dialect).collect();
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
            s.tree.files[idx].is_root = true;
            s.tree.roots.push((kind, idx));
        }
    }
    for &(_, r) in &s.tree.roots.clone() {
        for &i in &reach[&r] {
            s.tree.files[i].relevant = true;
            s.tree.files[i].roots.push(r);
        }
    }
    // Scope: the given files and everything they include.
    let mut queue: VecDeque<usize> = given.iter().copied().collect();
    while let Some(i) = queue.pop_front() {
        if std::mem::replace(&mut s.tree.files[i].in_scope, true) {
            continue;
        }
        s.tree.files[i].relevant = true;
        for targets in s.tree.files[i].included.clone() {
            queue.extend(targets);
        }
    }
    s.tree
}

struct Scanner<'a> {
    opts: &'a ScanOptions,
    tree: Tree,
    by_id: HashMap<(u64, u64), usize>,
    glob_cache: HashMap<(PathBuf, PathBuf, String), Vec<PathBuf>>,
}

impl Scanner<'_> {
    fn collect_given(&mut self, path: &Path, given: &mut Vec<usize>) {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.tree.diagnostics.push(Diagnostic::error(
                    "E002",
                    format!("{}: {e}", path.display()),
                ));
                return;
            }
        };
        if meta.is_file() {
            match self.add_file(path, self.opts.dialect, true) {
                Some(i) => given.push(i),
                None if self.opts.dialect.is_none() => self.tree.diagnostics.push(
                    Diagnostic::error(
                        "E003",
                        format!(
                            "{}: cannot tell which server this file is for",
                            path.display()
                        ),
                    )
                    .with_help("pass --dialect nginx|apache|caddy|php|html"),
                ),
                None => {}
            }
            return;
        }
        let walker = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        for entry in walker.filter_entry(|e| e.depth() == 0 || !is_ignored_dir(e)) {
            match entry {
                Ok(e) if e.file_type().is_file() && !is_csppatch_temp(e.path()) => {
                    if let Some(i) = self.add_file(e.path(), self.opts.dialect, false) {
                        given.push(i);
                    }
                }
                Ok(_) => {}
                Err(e) => self
                    .tree
                    .diagnostics
                    .push(Diagnostic::warning("E004", format!("cannot walk: {e}"))),
            }
        }
    }

    /// Read and scan `path` once; `None` when it is not a configuration file.
    fn add_file(
        &mut self,
        path: &Path,
        dialect: Option<DialectKind>,
        explicit: bool,
    ) -> Option<usize> {
        use std::os::unix::fs::MetadataExt;
        // Identity is the inode (a file reached through a symlink, a second include or two
        // spellings of one path is read once); a realpath per file would cost a readlink per
        // path component, which dominates on a 10,000-vhost tree.
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return self.unreadable(path, e),
        };
        let id = (meta.dev(), meta.ino());
        if let Some(&i) = self.by_id.get(&id) {
            return Some(i);
        }
        if meta.len() > MAX_FILE {
            self.tree.skipped += 1;
            if explicit {
                self.tree.diagnostics.push(Diagnostic::warning(
                    "E005",
                    format!("{}: skipped, larger than 16 MiB", path.display()),
                ));
            }
            return None;
        }
        // Writes go to the file behind a symlink, never over the link itself; a symlinked
        // directory above needs nothing (the rename happens inside the real directory).
        let is_link = fs::symlink_metadata(path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        // Absolute either way: validators run from other directories (a wrapper config).
        let target = if is_link {
            fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        } else {
            std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
        };
        let src = match fs::read(&target) {
            Ok(s) => s,
            Err(e) => return self.unreadable(path, e),
        };
        let head = &src[..src.len().min(16 * 1024)];
        let kind = match dialect.or_else(|| detect(path, head)) {
            Some(k) if dialect.is_none() || !explicit_non_config(path) => k,
            _ => {
                self.tree.skipped += 1;
                return None;
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
        let template = crate::template::detect(path, &src, kind, &self.opts.template);
        let scan = crate::template::dialect(kind, template.as_ref()).find(&shown_path, &src);
        let i = self.tree.files.len();
        self.tree.files.push(ScannedFile {
            path: shown_path,
            target: target.clone(),
            dialect: kind,
            template,
            src: src.into(),
            scan,
            included: Vec::new(),
            in_scope: false,
            is_root: false,
            roots: Vec::new(),
            relevant: false,
        });
        self.by_id.insert(id, i);
        Some(i)
    }

    fn unreadable(&mut self, path: &Path, e: std::io::Error) -> Option<usize> {
        self.tree.diagnostics.push(Diagnostic::error(
            "E002",
            format!("{}: {e}", path.display()),
        ));
        None
    }

    /// The main config of each dialect present: `--conf-root`, else the nearest one above a
    /// given path, else the system one.
    fn find_roots(
        &mut self,
        given: &[usize],
        dialects: &HashSet<DialectKind>,
    ) -> Vec<(DialectKind, usize)> {
        let mut roots = Vec::new();
        if let Some(root) = self.opts.conf_root.clone() {
            let dialect = self
                .opts
                .dialect
                .or_else(|| detect(&root, &fs::read(&root).unwrap_or_default()));
            match self.add_file(&root, dialect, true) {
                Some(i) => roots.push((self.tree.files[i].dialect, i)),
                None => self.tree.diagnostics.push(Diagnostic::error(
                    "E002",
                    format!(
                        "--conf-root {}: not a configuration file csppatch can read",
                        root.display()
                    ),
                )),
            }
            return roots;
        }
        let mut seen = HashSet::new();
        for kind in [DialectKind::Nginx, DialectKind::Apache, DialectKind::Caddy] {
            if !dialects.contains(&kind) {
                continue;
            }
            let names: &[&str] = match kind {
                DialectKind::Nginx => &["nginx.conf"],
                DialectKind::Apache => &["apache2.conf", "httpd.conf", "conf/httpd.conf"],
                _ => &["Caddyfile"],
            };
            let mut found = false;
            let of_kind: Vec<usize> = given
                .iter()
                .copied()
                .filter(|&g| self.tree.files[g].dialect == kind)
                .collect();
            // Each directory is looked at once: 10,000 vhosts in one directory share the answer.
            let mut memo: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
            let mut seen_as_found: HashSet<PathBuf> = HashSet::new();
            for g in of_kind {
                let start = self.tree.files[g].target.clone();
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
                    if let Some(i) = self.add_file(&cand, Some(kind), true) {
                        roots.push((kind, i));
                    }
                }
            }
            if !found {
                let system = match kind {
                    DialectKind::Nginx => "etc/nginx/nginx.conf",
                    DialectKind::Apache => "etc/apache2/apache2.conf",
                    _ => "etc/caddy/Caddyfile",
                };
                let cand = self.opts.system_root.join(system);
                if cand.is_file() {
                    if let Some(i) = self.add_file(&cand, Some(kind), true) {
                        roots.push((kind, i));
                    }
                }
            }
        }
        roots
    }

    /// Resolve and scan includes until no new file appears.
    fn follow_includes(&mut self, roots: &[(DialectKind, usize)]) {
        let mut next = 0;
        while next < self.tree.files.len() {
            let i = next;
            next += 1;
            let includes = match &self.tree.files[i].scan {
                Ok(scan) => scan.includes.clone(),
                Err(_) => continue,
            };
            let kind = self.tree.files[i].dialect;
            let base = self.include_base(i, roots);
            let mut resolved = Vec::with_capacity(includes.len());
            for inc in &includes {
                let paths =
                    self.resolve(&base, &self.tree.files[i].path.clone(), kind, &inc.pattern);
                if paths.is_empty() && !inc.optional && !has_glob(&inc.pattern) {
                    let file = &self.tree.files[i];
                    let (line, col) = crate::diag::line_col(&file.src, inc.offset);
                    self.tree.diagnostics.push(
                        Diagnostic::warning(
                            "E006",
                            format!(
                                "include `{}` matches no file (looked in {})",
                                inc.pattern,
                                base.display()
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
                    if let Some(t) = self.add_file(&p, Some(kind), false) {
                        targets.push(t);
                    }
                }
                resolved.push(targets);
            }
            self.tree.files[i].included = resolved;
        }
    }

    /// What relative include paths of file `i` are relative to: nginx, the directory of its
    /// main config (nginx's conf_prefix); Apache, ServerRoot; Caddy, the importing file's
    /// directory. Without a main config, the file's own directory's parent when that is where
    /// the server layout puts `snippets/`, `conf.d/` and the like.
    fn include_base(&self, i: usize, roots: &[(DialectKind, usize)]) -> PathBuf {
        let file = &self.tree.files[i];
        let own_dir = file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let root = roots
            .iter()
            .find(|(k, _)| *k == file.dialect)
            .map(|&(_, r)| &self.tree.files[r]);
        match file.dialect {
            DialectKind::Caddy => own_dir,
            DialectKind::Nginx => match root {
                Some(r) => r.path.parent().map(Path::to_path_buf).unwrap_or_default(),
                None => own_dir.parent().map(Path::to_path_buf).unwrap_or(own_dir),
            },
            DialectKind::Apache => {
                let server_root = root.and_then(|r| r.scan.as_ref().ok()?.server_root.clone());
                match (server_root, root) {
                    (Some(sr), _) => PathBuf::from(sr),
                    (None, Some(r)) => r.path.parent().map(Path::to_path_buf).unwrap_or_default(),
                    (None, None) => own_dir.parent().map(Path::to_path_buf).unwrap_or(own_dir),
                }
            }
            _ => own_dir,
        }
    }

    fn resolve(
        &mut self,
        base: &Path,
        from: &Path,
        kind: DialectKind,
        pattern: &str,
    ) -> Vec<PathBuf> {
        // The including file's directory is part of the key: without a main config it is
        // searched too, so the same pattern can name different files for different includers.
        let key = (
            base.to_path_buf(),
            from.parent().map(Path::to_path_buf).unwrap_or_default(),
            pattern.to_string(),
        );
        if let Some(hit) = self.glob_cache.get(&key) {
            return hit.clone();
        }
        let mut candidates = vec![base.join(pattern)];
        if kind != DialectKind::Caddy && Path::new(pattern).is_relative() {
            // Without a main config the base is a guess: also try the including file's dir.
            if let Some(d) = from.parent() {
                candidates.push(d.join(pattern));
            }
        }
        let mut out = Vec::new();
        for cand in candidates {
            out = expand(&cand, kind);
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
                    stack.extend(self.tree.files[i].included.iter().flatten().copied());
                }
            }
            out.insert(r, seen);
        }
        out
    }
}

/// `path` relative to the current directory when it is below it, else as it is.
fn shown(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().and_then(fs::canonicalize);
    match cwd
        .ok()
        .and_then(|c| path.strip_prefix(&c).ok().map(Path::to_path_buf))
    {
        Some(rel) if !rel.as_os_str().is_empty() => rel,
        _ => path.to_path_buf(),
    }
}

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// The files a path or glob names, sorted as the servers sort them. Apache reads every file
/// of an included directory.
fn expand(path: &Path, kind: DialectKind) -> Vec<PathBuf> {
    let text = path.to_string_lossy();
    let mut out: Vec<PathBuf> = if has_glob(&text) {
        glob::glob(&text)
            .map(|g| g.filter_map(Result::ok).collect())
            .unwrap_or_default()
    } else if path.exists() {
        vec![path.to_path_buf()]
    } else {
        Vec::new()
    };
    out.sort();
    if kind == DialectKind::Apache {
        let mut files = Vec::new();
        for p in out {
            if p.is_dir() {
                for e in walkdir::WalkDir::new(&p)
                    .follow_links(true)
                    .sort_by_file_name()
                    .into_iter()
                    .flatten()
                {
                    if e.file_type().is_file() {
                        files.push(e.into_path());
                    }
                }
            } else {
                files.push(p);
            }
        }
        return files;
    }
    out.retain(|p| p.is_file());
    out
}

/// A temporary file of an interrupted csppatch run (see `commit::TEMP_SUFFIX`).
fn is_csppatch_temp(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(crate::commit::TEMP_SUFFIX))
}

fn is_ignored_dir(e: &walkdir::DirEntry) -> bool {
    let name = e.file_name().to_string_lossy();
    e.file_type().is_dir()
        && (matches!(
            name.as_ref(),
            "node_modules" | "target" | "vendor" | "__pycache__"
        ) || name.starts_with('.'))
}

/// With an explicit `--dialect`, files that are clearly not configuration are still skipped.
fn explicit_non_config(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "pem" | "crt" | "key" | "png" | "jpg" | "gif" | "ico" | "gz" | "zip" | "md" | "swp"
    )
}

/// Group file indices by dialect, for per-server steps (linking, tree checks, validation).
pub fn by_dialect(tree: &Tree) -> BTreeMap<DialectKind, Vec<usize>> {
    let mut out: BTreeMap<DialectKind, Vec<usize>> = BTreeMap::new();
    for (i, f) in tree.files.iter().enumerate() {
        out.entry(f.dialect).or_default().push(i);
    }
    out
}
