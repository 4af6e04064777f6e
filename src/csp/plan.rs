//! The fallback-aware plan behind [`super::merge()`]: which directives of one policy change so
//! that a vendor source is allowed for the request types it is needed for, and nothing else.
//!
//! The model: a *class* is one kind of check a browser makes (a script load, an inline style
//! attribute, eval...). In a policy, each class is decided by its *governing* directive: the
//! first present directive of its CSP3 fallback list. A class's verdicts are a function of that
//! directive's tokens (and, for workers, of whether script-src's check is the one that runs).
//!
//! Two lists mean the same for a class when they have the same `signature` for it (hosts only
//! matter to loads, 'unsafe-inline' only to inline checks...). Adding source S to directive X
//! (or creating X as a copy of what governed its position, plus S) changes the meaning of the
//! classes X governs afterwards; every such class the vendor did not ask for is *pinned* first:
//! its own leaf directive is created as a copy of the list that governed it before. The plan is
//! then re-verified for every class, in two browser generations ([`Browser::Csp3`] and
//! [`Browser::NoElemAttr`], which ignores the four -elem/-attr directives), and kept only when
//! every class means what it meant, except the vendor's, which mean "before, plus S".

use super::cover::covers_tokens;
use super::eval::{Browser, Destination, InlineKind};
use super::fxhash::FxHashMap;
use super::source::{Keyword, Source};
use std::rc::Rc;

/// One kind of check a browser makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Load(Destination),
    Inline(InlineKind),
    Eval,
}

impl Class {
    /// Every class a fetch directive decides, in the order of [`Class::all`].
    pub const ALL: [Class; 16] = {
        use Destination as D;
        use InlineKind as I;
        [
            Class::Load(D::Script),
            Class::Load(D::Style),
            Class::Load(D::Image),
            Class::Load(D::Font),
            Class::Load(D::Connect),
            Class::Load(D::Frame),
            Class::Load(D::Worker),
            Class::Load(D::Media),
            Class::Load(D::Manifest),
            Class::Load(D::Object),
            Class::Inline(I::Script),
            Class::Inline(I::ScriptAttribute),
            Class::Inline(I::Style),
            Class::Inline(I::StyleAttribute),
            Class::Inline(I::Navigation),
            Class::Eval,
        ]
    };

    /// Every class a fetch directive decides.
    pub fn all() -> Vec<Class> {
        Class::ALL.to_vec()
    }

    /// The directives that decide this class in `browser`, most specific first (a static
    /// table: the plan walks these chains for every class of every candidate).
    pub fn chain(self, browser: Browser) -> &'static [&'static str] {
        let effective = match self {
            Class::Load(d) => d.effective_directive(),
            Class::Inline(k) => k.effective_directive(),
            // EnsureCSPDoesNotBlockStringCompilation: script-src, else default-src.
            Class::Eval => return &["script-src", "default-src"],
        };
        match (browser, effective) {
            // Browser::fallback_list without the four directives the browser ignores.
            (Browser::NoElemAttr, "script-src-elem" | "script-src-attr") => {
                &["script-src", "default-src"]
            }
            (Browser::NoElemAttr, "style-src-elem" | "style-src-attr") => {
                &["style-src", "default-src"]
            }
            _ => super::directives::fallback_list(effective),
        }
    }

    /// What the class is, in words, for messages.
    pub fn describe(self) -> &'static str {
        use Destination as D;
        match self {
            Class::Load(D::Script) => "script files",
            Class::Load(D::Style) => "stylesheets",
            Class::Load(D::Image) => "images",
            Class::Load(D::Font) => "fonts",
            Class::Load(D::Connect) => "fetch/XHR/WebSocket connections",
            Class::Load(D::Frame) => "frames",
            Class::Load(D::Worker) => "workers",
            Class::Load(D::Media) => "audio and video",
            Class::Load(D::Manifest) => "app manifests",
            Class::Load(D::Object) => "plugins",
            Class::Load(_) => "navigations",
            Class::Inline(InlineKind::Script) => "inline <script> elements",
            Class::Inline(InlineKind::ScriptAttribute) => "event handler attributes",
            Class::Inline(InlineKind::Navigation) => "javascript: URLs",
            Class::Inline(InlineKind::Style) => "inline <style> elements",
            Class::Inline(InlineKind::StyleAttribute) => "style attributes",
            Class::Eval => "eval()",
        }
    }

    /// A script load, inline script behaviour or eval.
    pub fn is_script(self) -> bool {
        matches!(
            self,
            Class::Load(Destination::Script)
                | Class::Inline(
                    InlineKind::Script | InlineKind::ScriptAttribute | InlineKind::Navigation
                )
                | Class::Eval
        )
    }
}

/// No directive can take a source without changing other verdicts (in that browser).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Infeasible;

/// One enforced directive of the policy being planned: an existing one or a created one.
#[derive(Debug, Clone)]
pub struct PlannedDirective {
    pub name: String,
    /// The value as it will be: original tokens (minus `'none'` once something is added) plus
    /// additions, or for a created directive, the copied tokens plus additions.
    pub tokens: Vec<String>,
    /// Index in `Policy::directives` of the directive this is; `None` when created.
    pub existing: Option<usize>,
    /// Tokens appended by the merge (vendor sources), in order.
    pub added: Vec<String>,
    /// For a created directive: the directive whose tokens were copied (`None`: none existed).
    pub copied_from: Option<String>,
    /// Created to keep other request types as they were (not for a vendor source).
    pub pin: bool,
}

/// The directives of one policy as the plan goes.
#[derive(Debug, Clone)]
pub struct PolicyPlan {
    pub directives: Vec<PlannedDirective>,
}

/// What decides one class: tokens and whether script-src's pre-request check runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Governance<'a> {
    pub(crate) tokens: &'a [String],
    pub(crate) script_check: bool,
}

fn is_none(t: &str) -> bool {
    t.eq_ignore_ascii_case("'none'")
}

/// Would 'unsafe-inline' in `tokens` take effect for `class`? (CSP3 §6.7.3.2: a nonce or hash,
/// or for scripts 'strict-dynamic', makes browsers ignore it.)
pub fn unsafe_inline_effective(tokens: &[String], class: Class) -> bool {
    let (mut inline, mut nonce_or_hash, mut strict) = (false, false, false);
    for t in tokens {
        let s = token_sig(t);
        inline |= s.keyword == Some(Keyword::UnsafeInline);
        nonce_or_hash |= s.nonce.is_some() || s.hash.is_some();
        strict |= s.keyword == Some(Keyword::StrictDynamic);
    }
    inline && !nonce_or_hash && !(class.is_script() && strict)
}

/// What one token contributes to a signature, from its parse (an invalid token: nothing).
#[derive(Clone, Default)]
struct TokenSig {
    keyword: Option<Keyword>,
    /// A source that matches URLs (host, scheme, 'self').
    url: bool,
    /// `nonce:<value>` for a nonce source.
    nonce: Option<Rc<str>>,
    /// `hash:<alg>-<base64, + and / for - and _>` for a hash source.
    hash: Option<Rc<str>>,
}

/// Entries of the token memo before it starts over.
const TOKEN_MEMO: usize = 4096;

thread_local! {
    /// `token_sig` by token text: a signature is asked for every class of every list the plan
    /// tries, and each used to parse every token of its list again (a host source's parse is
    /// most of a signature's cost); the same tokens recur across a policy's directives and
    /// copies, and `'self'`, `data:`, `https:` across sites. Bounded: cleared at `TOKEN_MEMO`.
    static TOKEN_SIGS: std::cell::RefCell<FxHashMap<String, TokenSig>> =
        std::cell::RefCell::new(FxHashMap::default());
}

fn token_sig(t: &str) -> TokenSig {
    if let Some(hit) = TOKEN_SIGS.with(|m| m.borrow().get(t).cloned()) {
        return hit;
    }
    let sig = match Source::parse(t) {
        Err(_) => TokenSig::default(),
        Ok(s) => TokenSig {
            keyword: s.keyword(),
            url: s.matches_urls(),
            nonce: match &s {
                Source::Nonce(v) => Some(format!("nonce:{v}").into()),
                _ => None,
            },
            hash: match &s {
                Source::Hash(..) => Some(
                    format!("hash:{}", s.to_string().replace('-', "+").replace('_', "/")).into(),
                ),
                _ => None,
            },
        },
    };
    TOKEN_SIGS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= TOKEN_MEMO {
            m.clear();
        }
        m.insert(t.to_string(), sig.clone());
    });
    sig
}

/// What a list means for one class ([`signature`]): its entries, each a tag and a text,
/// sorted, without repeats, and encoded in one byte string ([`encode_into`]), so that two
/// signatures are equal exactly when their entries are.
pub(crate) type Signature = Rc<[u8]>;

/// One memoized signature: the token list it is for, encoded (to rule out a hash collision).
struct SignatureEntry {
    tokens: Vec<u8>,
    class: Class,
    script_check: bool,
    signature: Signature,
}

type SignatureMemo = FxHashMap<u64, SignatureEntry>;

/// Entries of the signature memo before it starts over.
const SIGNATURE_MEMO: usize = 1024;

thread_local! {
    /// `signature` results: one merge asks for the same few token lists thousands of times
    /// (every class, every browser, every candidate directive), and sites share most of
    /// their lists. Keyed by the Fx hash of the encoded tokens (and the one being added, if
    /// any), the class and the flag; the entry holds the encoded tokens. Bounded: cleared at
    /// `SIGNATURE_MEMO`.
    static SIGNATURES: std::cell::RefCell<SignatureMemo> = std::cell::RefCell::new(SignatureMemo::default());
    /// The buffer a look-up encodes its tokens into (one per thread, not one per look-up).
    static SIGNATURE_KEY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bound the memoized signatures (called at the start of each merge: the memo is a pure
/// function's, so it may outlive a merge, but not grow without end).
pub fn reset_memo() {
    SIGNATURES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= SIGNATURE_MEMO {
            m.clear();
        }
    });
}

/// Append `texts` to `out` as one byte string: each text's length (4 bytes), then its bytes.
/// Two lists encode alike exactly when they are alike (a memo key in one allocation, compared
/// with one `memcmp`, where a list of strings took one allocation and compare per text).
pub(crate) fn encode_into<'s>(out: &mut Vec<u8>, texts: impl IntoIterator<Item = &'s str>) {
    for t in texts {
        let len = u32::try_from(t.len()).expect("a token under 4 GiB");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(t.as_bytes());
    }
}

/// What a list means for one class: two lists with the same signature give every request of
/// the class the same verdict (CSP3 §6.7). Entries are tagged (`url:`, `nonce:`...) and sorted.
///
/// - loads: the URL-matching sources; for scripts (and workers checked by script-src) also
///   nonces and hashes, and with 'strict-dynamic' no URLs at all (§6.7.1.1 step 1.3: only the
///   parser-inserted flag decides); for styles also nonces;
/// - inline checks (§6.7.3.2-3): "allow all inline" alone, or else the nonces (elements only)
///   and hashes (elements, or anything next to 'unsafe-hashes');
/// - eval: 'unsafe-eval' (and, for wasm, 'wasm-unsafe-eval').
pub(crate) fn signature(tokens: &[String], class: Class, script_check: bool) -> Signature {
    signature_with(tokens, None, class, script_check)
}

/// The signature of `tokens` followed by `extra`, without building that list on a hit.
fn signature_with(
    tokens: &[String],
    extra: Option<&str>,
    class: Class,
    script_check: bool,
) -> Signature {
    use std::hash::{Hash, Hasher};
    let texts = || tokens.iter().map(String::as_str).chain(extra);
    let mut key = SIGNATURE_KEY.with(|k| std::mem::take(&mut *k.borrow_mut()));
    key.clear();
    encode_into(&mut key, texts());
    let mut h = super::fxhash::FxHasher::default();
    h.write(&key);
    class.hash(&mut h);
    script_check.hash(&mut h);
    let hash = h.finish();
    let hit = SIGNATURES.with(|m| {
        m.borrow()
            .get(&hash)
            .filter(|e| e.class == class && e.script_check == script_check && e.tokens == key)
            .map(|e| e.signature.clone())
    });
    let sig = match hit {
        Some(sig) => sig,
        None => {
            let all: Vec<&str> = texts().collect();
            let sig: Signature = compute_signature(&all, class, script_check).into();
            SIGNATURES.with(|m| {
                m.borrow_mut().insert(
                    hash,
                    SignatureEntry {
                        tokens: key.clone(),
                        class,
                        script_check,
                        signature: sig.clone(),
                    },
                )
            });
            sig
        }
    };
    SIGNATURE_KEY.with(|k| *k.borrow_mut() = key);
    sig
}

/// One entry of a signature: a tag and a text. (No two different entries print alike as
/// `tag` + `text`: the nonce and hash entries are untagged but start with `nonce:`, `hash:`.)
type Entry<'t> = (&'static str, &'t str);

fn compute_signature<S: AsRef<str>>(tokens: &[S], class: Class, script_check: bool) -> Vec<u8> {
    use Destination as D;
    use InlineKind as I;
    // Each token's part, memoized by its text (the URL entries are the tokens as written).
    let sigs: Vec<TokenSig> = tokens.iter().map(|t| token_sig(t.as_ref())).collect();
    let has = |k: Keyword| sigs.iter().any(|s| s.keyword == Some(k));
    let urls = || {
        tokens
            .iter()
            .zip(&sigs)
            .filter(|(_, s)| s.url)
            .map(|(t, _)| ("url:", t.as_ref()))
    };
    let nonces = || {
        sigs.iter()
            .filter_map(|s| s.nonce.as_deref().map(|n| ("", n)))
    };
    let hashes = || {
        sigs.iter()
            .filter_map(|s| s.hash.as_deref().map(|h| ("", h)))
    };
    let mut sig: Vec<Entry> = match class {
        Class::Load(d) if d == D::Script || (d == D::Worker && script_check) => {
            let mut v: Vec<Entry> = if has(Keyword::StrictDynamic) {
                vec![("strict-dynamic", "")]
            } else {
                urls().collect()
            };
            // Worker requests carry neither a nonce nor integrity metadata.
            if d == D::Script {
                v.extend(nonces());
                v.extend(hashes());
            }
            v
        }
        Class::Load(D::Style) => urls().chain(nonces()).collect(),
        Class::Load(_) => urls().collect(),
        Class::Inline(k) => {
            let scriptish = matches!(k, I::Script | I::ScriptAttribute | I::Navigation);
            let element = matches!(k, I::Script | I::Style);
            let allow_all = has(Keyword::UnsafeInline)
                && nonces().next().is_none()
                && hashes().next().is_none()
                && !(scriptish && has(Keyword::StrictDynamic));
            if allow_all {
                vec![("allow-all-inline", "")]
            } else {
                let mut v = Vec::new();
                if element {
                    v.extend(nonces());
                }
                if element || has(Keyword::UnsafeHashes) {
                    v.extend(hashes());
                }
                v
            }
        }
        Class::Eval => {
            let mut v = Vec::new();
            if has(Keyword::UnsafeEval) {
                v.push(("eval", ""));
            }
            if has(Keyword::UnsafeEval) || has(Keyword::WasmUnsafeEval) {
                v.push(("wasm-eval", ""));
            }
            v
        }
    };
    sig.sort_unstable();
    sig.dedup();
    let mut out = Vec::new();
    encode_into(&mut out, sig.iter().flat_map(|(tag, text)| [*tag, *text]));
    out
}

/// The tokens of `tokens` that matter in a directive called `name`, for a copy: a created
/// directive takes its fallback's sources, minus the keywords that mean nothing there (no
/// 'unsafe-inline' in a worker-src, no hosts in a script-src-attr). Tokens that are no valid
/// source stay where URLs matter: csppatch cannot tell what their author meant.
pub(crate) fn copy_for(name: &str, tokens: &[String]) -> Vec<String> {
    let url_only = !matches!(
        name,
        "script-src"
            | "script-src-elem"
            | "script-src-attr"
            | "style-src"
            | "style-src-elem"
            | "style-src-attr"
            | "default-src"
    );
    let attr = name.ends_with("-attr");
    let style = name.starts_with("style-src");
    tokens
        .iter()
        .filter(|t| match Source::parse(t) {
            Err(_) => !attr,
            Ok(s) if s.matches_urls() => !attr,
            Ok(Source::Keyword(Keyword::None)) => true,
            Ok(_) if url_only => false,
            Ok(Source::Keyword(k)) => match k {
                Keyword::UnsafeEval | Keyword::WasmUnsafeEval => {
                    matches!(name, "script-src" | "default-src")
                }
                Keyword::StrictDynamic | Keyword::InlineSpeculationRules => !style,
                Keyword::UnsafeHashes => name != "style-src-elem",
                _ => true,
            },
            Ok(_) => true,
        })
        .cloned()
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Same,
    /// The class now behaves as its old list plus the source: it also allows what the source
    /// allows, and nothing else changed.
    Widened,
    Changed,
}

fn compare(
    before: Option<&Governance>,
    after: Option<&Governance>,
    source: &Source,
    text: &str,
    class: Class,
) -> Change {
    let (b, a) = match (before, after) {
        (None, None) => return Change::Same,
        (Some(b), Some(a)) => (b, a),
        _ => return Change::Changed,
    };
    let before_sig = signature(b.tokens, class, b.script_check);
    // A class that moved from a URL check to script-src's check (or back) must not care.
    // (The same flag is the same signature: no second look-up.)
    if a.script_check != b.script_check && signature(b.tokens, class, a.script_check) != before_sig
    {
        return Change::Changed;
    }
    let after_sig = signature(a.tokens, class, a.script_check);
    if Rc::ptr_eq(&after_sig, &before_sig) || after_sig == before_sig {
        return Change::Same;
    }
    // The usual case: the new list is the old one plus `text`, so "before, plus the source"
    // is the new list's signature itself; only a list changed otherwise (a `'none'` dropped,
    // a copy) needs the longer list's signature computed.
    let appended = a.tokens.len() == b.tokens.len() + 1
        && a.tokens[..b.tokens.len()] == *b.tokens
        && a.tokens[b.tokens.len()] == text;
    if !appended && after_sig != signature_with(b.tokens, Some(text), class, a.script_check) {
        return Change::Changed;
    }
    if source.is_nonce_or_hash() && unsafe_inline_effective(b.tokens, class) {
        // Not a widening: the nonce or hash switches 'unsafe-inline' off.
        Change::Changed
    } else {
        Change::Widened
    }
}

/// Most directive names a chain can hold (there are 16).
const CHAIN_NAMES: usize = 24;

/// Every directive name of any class's chain, and each (class, browser) chain as indexes into
/// those names: [`acceptable`] looks every name up once per plan, not once per chain element
/// of every class of every browser (each look-up a string compare with every directive).
struct Chains {
    names: Vec<&'static str>,
    /// By class (index in [`Class::ALL`]) and browser (index in [`Browser::ALL`]).
    ids: [[Vec<u8>; 2]; 16],
}

fn chains() -> &'static Chains {
    static CHAINS: std::sync::OnceLock<Chains> = std::sync::OnceLock::new();
    CHAINS.get_or_init(|| {
        let mut names: Vec<&'static str> = Vec::new();
        let ids = Class::ALL.map(|class| {
            Browser::ALL.map(|browser| {
                class
                    .chain(browser)
                    .iter()
                    .map(|n| {
                        let i = names.iter().position(|m| m == n).unwrap_or_else(|| {
                            names.push(n);
                            names.len() - 1
                        });
                        u8::try_from(i).expect("few names")
                    })
                    .collect()
            })
        });
        assert!(names.len() <= CHAIN_NAMES);
        Chains { names, ids }
    })
}

/// The (class, browser) pairs whose verdicts differ between two plans (given as look-ups of
/// a directive's tokens by name) otherwise than by `source` for a target class.
fn acceptable<'a>(
    before: impl Fn(&str) -> Option<&'a [String]>,
    after: impl Fn(&str) -> Option<&'a [String]>,
    source: &Source,
    text: &str,
    targets: &[Class],
) -> Vec<(Class, Browser)> {
    let table = chains();
    let (mut before_of, mut after_of): ([Option<&'a [String]>; CHAIN_NAMES], _) =
        ([None; CHAIN_NAMES], [None; CHAIN_NAMES]);
    for (i, n) in table.names.iter().enumerate() {
        before_of[i] = before(n);
        after_of[i] = after(n);
    }
    let mut bad = Vec::new();
    // A class whose chain is the same in a later browser gets the same answer there (the
    // verdict is a function of the chain, the look-ups and the class): most chains are.
    let mut verdicts: [Option<(&'static [u8], bool)>; 16] = [None; 16];
    for (bi, browser) in Browser::ALL.into_iter().enumerate() {
        for (ci, class) in Class::ALL.into_iter().enumerate() {
            let chain: &'static [u8] = &table.ids[ci][bi];
            if let Some((seen, ok)) = verdicts[ci] {
                if seen == chain {
                    if !ok {
                        bad.push((class, browser));
                    }
                    continue;
                }
            }
            // The governing directive: the first of the chain present (its name's index).
            let governing = |of: &[Option<&'a [String]>; CHAIN_NAMES]| {
                chain
                    .iter()
                    .find_map(|&i| of[usize::from(i)].map(|t| (i, t)))
            };
            // Most classes are governed by the same, untouched directive before and after:
            // same name (so the same kind of check), same tokens, same verdicts.
            let (b, a) = (governing(&before_of), governing(&after_of));
            let untouched = match (b, a) {
                (None, None) => true,
                (Some(b), Some(a)) => b.0 == a.0 && (std::ptr::eq(b.1, a.1) || b.1 == a.1),
                _ => false,
            };
            if untouched {
                verdicts[ci] = Some((chain, true));
                continue;
            }
            let governance = |g: Option<(u8, &'a [String])>| {
                g.map(|(i, tokens)| Governance {
                    tokens,
                    script_check: class == Class::Load(Destination::Script)
                        || (class == Class::Load(Destination::Worker)
                            && table.names[usize::from(i)] == "script-src"),
                })
            };
            let change = compare(
                governance(b).as_ref(),
                governance(a).as_ref(),
                source,
                text,
                class,
            );
            let ok =
                change == Change::Same || (change == Change::Widened && targets.contains(&class));
            verdicts[ci] = Some((chain, ok));
            if !ok {
                bad.push((class, browser));
            }
        }
    }
    bad
}

impl PolicyPlan {
    pub fn get(&self, name: &str) -> Option<&PlannedDirective> {
        self.directives.iter().find(|d| d.name == name)
    }

    /// The directive that governs `class` in `browser`.
    pub fn governing(&self, class: Class, browser: Browser) -> Option<&PlannedDirective> {
        class.chain(browser).iter().find_map(|n| self.get(n))
    }

    pub(crate) fn governance(&self, class: Class, browser: Browser) -> Option<Governance<'_>> {
        let d = self.governing(class, browser)?;
        Some(Governance {
            tokens: &d.tokens,
            script_check: class == Class::Load(Destination::Script)
                || (class == Class::Load(Destination::Worker) && d.name == "script-src"),
        })
    }

    /// Is `source` already in the list governing `class` (or covered by one of its sources)?
    pub fn covered(&self, class: Class, browser: Browser, source: &Source) -> bool {
        match self.governing(class, browser) {
            None => true,
            Some(d) => covers_tokens(&d.tokens, source),
        }
    }

    /// Add `text` to directive `name`, creating it when absent from `copy`: the directive it
    /// is copied from and the tokens taken ([`copy_for`]).
    fn add(&mut self, name: &str, text: &str, copy: Option<(&str, Vec<String>)>) {
        let d = match self.directives.iter().position(|d| d.name == name) {
            Some(i) => &mut self.directives[i],
            None => {
                let (from, tokens) =
                    copy.map_or((None, Vec::new()), |(f, t)| (Some(f.to_string()), t));
                self.directives.push(PlannedDirective {
                    name: name.to_string(),
                    tokens,
                    existing: None,
                    added: Vec::new(),
                    copied_from: from,
                    pin: false,
                });
                self.directives.last_mut().expect("just pushed")
            }
        };
        d.tokens.retain(|t| !is_none(t));
        d.tokens.push(text.to_string());
        d.added.push(text.to_string());
    }

    fn pin(&mut self, name: &str, from: &PlannedDirective) {
        let mut tokens = copy_for(name, &from.tokens);
        if tokens.iter().all(|t| is_none(t)) {
            // An empty directive means 'none'; say it, once.
            tokens = vec!["'none'".to_string()];
        }
        self.directives.push(PlannedDirective {
            name: name.to_string(),
            tokens,
            existing: None,
            added: Vec::new(),
            copied_from: Some(from.name.clone()),
            pin: true,
        });
    }

    /// Add `source` to `x` (pins first) if that changes no class outside `targets` in any
    /// browser, and the target classes only by `source`: `true`, the plan is changed; `false`,
    /// the plan is as it was.
    ///
    /// The trial without pins is made in place and undone when it fails (one directive's
    /// tokens saved, not the whole plan cloned): it is the usual outcome.
    fn with_source_in(
        &mut self,
        x: &'static str,
        source: &Source,
        text: &str,
        targets: &[Class],
    ) -> bool {
        let copy_source = |plan: &PolicyPlan| -> Option<(&'static str, Vec<String>)> {
            if plan.get(x).is_some() {
                return None;
            }
            // X's own position: the first present directive after it in any chain holding it.
            Class::ALL.iter().find_map(|c| {
                let chain = c.chain(Browser::Csp3);
                let i = chain.iter().position(|n| *n == x)?;
                chain[i + 1..]
                    .iter()
                    .find_map(|n| plan.get(n).map(|d| (*n, copy_for(x, &d.tokens))))
            })
        };
        let copy = copy_source(self);
        // X's tokens before, for the look-ups and the undo: `add` only appends `text`, unless
        // it drops a `'none'`, so only then are they copied (the usual trial fails: a copy of
        // them per trial was most of its allocations). (copy, length, additions)
        let saved: Option<(Option<Vec<String>>, usize, usize)> = self.get(x).map(|d| {
            let nones = d.tokens.iter().any(|t| is_none(t));
            (
                nones.then(|| d.tokens.clone()),
                d.tokens.len(),
                d.added.len(),
            )
        });
        self.add(x, text, copy);
        let bad = {
            let this = &*self;
            let x_before: Option<&[String]> = saved.as_ref().map(|(copy, len, _)| match copy {
                Some(t) => t.as_slice(),
                None => &this.get(x).expect("x was present").tokens[..*len],
            });
            acceptable(
                |n| {
                    if n == x {
                        x_before
                    } else {
                        this.get(n).map(|d| d.tokens.as_slice())
                    }
                },
                |n| this.get(n).map(|d| d.tokens.as_slice()),
                source,
                text,
                targets,
            )
        };
        if bad.is_empty() {
            return true;
        }
        // Undo the trial: `add` changed only `x` (or pushed it last).
        match saved {
            Some((copy, len, added)) => {
                let d = self
                    .directives
                    .iter_mut()
                    .find(|d| d.name == x)
                    .expect("x was present");
                match copy {
                    Some(tokens) => d.tokens = tokens,
                    None => d.tokens.truncate(len),
                }
                d.added.truncate(added);
            }
            None => {
                self.directives.pop();
            }
        }
        let mut pinned = self.clone();
        for (class, browser) in bad {
            let leaf = class.chain(browser)[0];
            if leaf == x || matches!(leaf, "default-src" | "child-src") {
                return false;
            }
            if pinned.get(leaf).is_some() {
                continue;
            }
            let Some(from) = self.governing(class, browser) else {
                return false;
            };
            let from = from.clone();
            pinned.pin(leaf, &from);
        }
        let copy = copy_source(&pinned);
        pinned.add(x, text, copy);
        let ok = acceptable(
            |n| self.get(n).map(|d| d.tokens.as_slice()),
            |n| pinned.get(n).map(|d| d.tokens.as_slice()),
            source,
            text,
            targets,
        )
        .is_empty();
        if ok {
            *self = pinned;
        }
        ok
    }

    /// Make `class` allow `source` in `browser`, changing nothing else. `Ok(false)`: nothing to
    /// do. `Err(Infeasible)`: no directive can take the source without changing other verdicts.
    pub fn ensure(
        &mut self,
        class: Class,
        browser: Browser,
        source: &Source,
        text: &str,
        targets: &[Class],
    ) -> Result<bool, Infeasible> {
        let Some(g) = self.governing(class, browser) else {
            return Ok(false);
        };
        if covers_tokens(&g.tokens, source) {
            return Ok(false);
        }
        let chain = class.chain(browser);
        let gi = chain
            .iter()
            .position(|n| *n == g.name)
            .unwrap_or(chain.len() - 1);
        let mut candidates: Vec<(usize, &'static str)> = chain[..=gi]
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, n)| !matches!(*n, "default-src" | "child-src"))
            .collect();
        // Prefer a directive every browser knows (script-src over script-src-elem), then the
        // widest one: fewer new directives, and old browsers get the vendor too.
        candidates.sort_by_key(|(i, n)| {
            (
                !Browser::ALL.iter().all(|b| b.knows(n)),
                std::cmp::Reverse(*i),
            )
        });
        for (_, x) in candidates {
            if self.with_source_in(x, source, text, targets) {
                return Ok(true);
            }
        }
        Err(Infeasible)
    }

    /// Append to a no-fallback directive (form-action...) when present.
    pub fn append_no_fallback(&mut self, name: &str, source: &Source, text: &str) -> bool {
        match self.get(name) {
            Some(d) if !covers_tokens(&d.tokens, source) => {
                self.add(name, text, None);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn static_chains_are_the_browsers_fallback_lists() {
        assert_eq!(Class::all().len(), 16);
        for class in Class::ALL {
            for browser in Browser::ALL {
                let expected = match class {
                    Class::Load(d) => browser.fallback_list(d.effective_directive()),
                    Class::Inline(k) => browser.fallback_list(k.effective_directive()),
                    Class::Eval => vec!["script-src", "default-src"],
                };
                assert_eq!(
                    class.chain(browser),
                    expected.as_slice(),
                    "{class:?} {browser:?}"
                );
            }
        }
    }

    #[test]
    fn encoded_lists_are_equal_only_when_the_lists_are() {
        let enc = |texts: &[&str]| {
            let mut out = Vec::new();
            encode_into(&mut out, texts.iter().copied());
            out
        };
        assert_ne!(enc(&["ab"]), enc(&["a", "b"]));
        assert_ne!(enc(&["a", ""]), enc(&["a"]));
        assert_ne!(enc(&["url:", "x"]), enc(&["url:x"]));
        assert_eq!(enc(&["'self'", "x"]), enc(&["'self'", "x"]));
    }

    #[test]
    fn signatures_ignore_order_and_repeats_but_not_hosts() {
        let list = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let load = Class::Load(Destination::Image);
        let a = signature(
            &list(&["'self'", "https://a.example", "data:"]),
            load,
            false,
        );
        let b = signature(
            &list(&["data:", "https://a.example", "'self'", "data:"]),
            load,
            false,
        );
        let c = signature(
            &list(&["'self'", "https://b.example", "data:"]),
            load,
            false,
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        // For inline styles a host means nothing: 'unsafe-inline' alone decides.
        let style = Class::Inline(InlineKind::StyleAttribute);
        let d = signature(
            &list(&["https://a.example", "'unsafe-inline'"]),
            style,
            false,
        );
        let e = signature(
            &list(&["'unsafe-inline'", "https://b.example"]),
            style,
            false,
        );
        assert_eq!(d, e);
    }

    #[test]
    fn signature_with_an_extra_token_is_the_signature_of_the_longer_list() {
        let tokens: Vec<String> = ["'self'", "https://a.example", "'nonce-abc'"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        for class in Class::ALL {
            for extra in ["https://b.example", "'unsafe-inline'", "'sha256-abc='"] {
                let mut longer = tokens.clone();
                longer.push(extra.to_string());
                let direct = compute_signature(&longer, class, false);
                assert_eq!(
                    &*signature_with(&tokens, Some(extra), class, false),
                    &direct[..]
                );
                assert_eq!(&*signature(&longer, class, false), &direct[..]);
            }
        }
    }
}
