//! The read stage's findings: problems with the paths, files that do not parse, the lints of
//! the files in scope, and each dialect's checks over the whole configuration.

use std::collections::HashSet;
use std::path::Path;

use crate::diag::Diagnostic;
use crate::dialect::{Dialect, TreeFile};
use crate::scan::{self, FileSet, ScannedFile};
use crate::site::FileScan;

/// Every diagnostic reading the configuration gave, for the files that matter to the run.
pub fn diagnostics(set: &FileSet) -> Vec<Diagnostic> {
    let mut out = set.diagnostics.clone();
    for f in set.files.iter().filter(|f| f.relevant) {
        match &f.scan {
            Err(d) => out.push(d.clone()),
            Ok(scan) if f.in_scope => out.extend(scan.diagnostics.iter().cloned()),
            Ok(_) => {}
        }
    }
    for (kind, mut files) in scan::by_dialect(set) {
        files.retain(|&i| set.files[i].relevant);
        out.extend(check_tree(kind.dialect(), set, &files));
    }
    out
}

/// The dialect's checks over a whole configuration, kept for files the user named.
fn check_tree(dialect: &dyn Dialect, set: &FileSet, files: &[usize]) -> Vec<Diagnostic> {
    let kept: Vec<usize> = files
        .iter()
        .copied()
        .filter(|&i| set.files[i].scan.is_ok())
        .collect();
    let parsed: Vec<(&ScannedFile, &FileScan)> = kept
        .iter()
        .filter_map(|&i| Some((&set.files[i], set.files[i].scan.as_ref().ok()?)))
        .collect();
    // Includes as indices into `parsed`: a file that is not there (it does not parse, or it
    // belongs to another dialect) is left out, as it has no outline to follow.
    let mut view_of = vec![None; set.files.len()];
    for (k, &i) in kept.iter().enumerate() {
        view_of[i] = Some(k);
    }
    let included: Vec<Vec<Vec<usize>>> = parsed
        .iter()
        .map(|(f, _)| {
            f.included
                .iter()
                .map(|t| t.iter().filter_map(|&j| view_of[j]).collect())
                .collect()
        })
        .collect();
    let views: Vec<TreeFile> = parsed
        .iter()
        .zip(&included)
        .map(|((f, scan), inc)| TreeFile {
            path: &f.path,
            src: &f.src,
            scan,
            included: inc,
            is_root: f.is_root,
        })
        .collect();
    let scope: HashSet<&Path> = set
        .files
        .iter()
        .filter(|f| f.in_scope)
        .map(|f| f.path.as_path())
        .collect();
    let in_scope = |d: &Diagnostic| match &d.location {
        None => true,
        Some(l) => scope.contains(l.path.as_path()),
    };
    dialect
        .check_tree(&views)
        .into_iter()
        .filter(in_scope)
        .collect()
}
