//! `csppatch probe URL`: fetch a live page and report what its policies block of the vendors'
//! requests.

use std::path::PathBuf;
use std::time::Duration;

use crate::diag::Diagnostic;
use crate::probe::{self, FetchOptions, Probe};

use super::VendorChoice;

/// The probe's input beyond the vendors.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    pub url: String,
    /// `--header 'Name: value'`, as written.
    pub headers: Vec<String>,
    pub cacert: Option<PathBuf>,
    pub timeout: Duration,
}

/// What the probe found, or why it could not look (`Err` after the vendor notes).
#[derive(Debug)]
pub struct Probed {
    /// Notes about the vendor choice.
    pub notes: Vec<Diagnostic>,
    pub result: Result<Probe, Diagnostic>,
}

/// `Err`: the vendor choice or a `--header` is invalid; nothing was fetched.
pub fn probe(choice: &VendorChoice, request: &ProbeRequest) -> Result<Probed, Vec<Diagnostic>> {
    let reqs = choice.requirements()?;
    let headers = request
        .headers
        .iter()
        .map(|h| probe::fetch::parse_header_arg(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|d| vec![d])?;
    let options = FetchOptions {
        headers,
        timeout: request.timeout,
        ca_file: request.cacert.clone(),
        ..Default::default()
    };
    Ok(Probed {
        notes: reqs.notes,
        result: probe::probe(&request.url, &reqs.requirements, &options),
    })
}
