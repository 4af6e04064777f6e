//! How a policy reaches the browser, which decides which directives it honours.

/// A response header, or a `<meta http-equiv>` element: `frame-ancestors`, `report-uri` and
/// `sandbox` are ignored in a `<meta>` policy (CSP3 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Delivery {
    Header,
    Meta,
}
