//! The shared plans of `merge_shared` (src/csp/shape.rs): policies that differ only in hosts
//! no vendor source is about are merged once. Two properties over generated policy lists:
//! renaming such hosts (a bijection, same lengths) commutes with the merge, and the shared
//! merge gives the same outcome as a merge of the policy's own text, also when its plan was
//! made for another policy of the same shape.
use crate::csp_props::{policy_list, requirements};
use crate::csp_support::header;

use csppatch::csp::shape::shape_of;
use csppatch::csp::{merge, merge_shared, MergeOutcome, Requirement};
use proptest::prelude::*;

/// Hosts of the generators' vocabulary (and others), in groups of one length: a renaming
/// permutes each group.
const GROUPS: [&[&str]; 3] = [
    &["cdn.example", "web.example", "api.example"],
    &[
        "sock.example",
        "site.example",
        "chat.example",
        "shop.example",
    ],
    &["legacy.example", "static.example"],
];

/// A renaming: for each group, a rotation by the given amount.
fn renaming(turns: [usize; 3]) -> impl Fn(&str) -> Option<&'static str> {
    move |host: &str| {
        GROUPS.iter().zip(turns).find_map(|(g, t)| {
            let i = g.iter().position(|h| *h == host)?;
            Some(g[(i + t) % g.len()])
        })
    }
}

/// `text` with every `scheme://host` token of a renamed host renamed (other tokens as they are).
fn rename(text: &str, f: &impl Fn(&str) -> Option<&'static str>) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let renamed = token.split_once("://").and_then(|(scheme, host)| {
            ["http", "https", "ws", "wss"]
                .contains(&scheme)
                .then(|| f(host).map(|h| format!("{scheme}://{h}")))
                .flatten()
        });
        out.push_str(renamed.as_deref().unwrap_or(token));
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_whitespace() || c == ';' || c == ',' {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

fn names_a_renamed_host(reqs: &[Requirement]) -> bool {
    reqs.iter().any(|r| {
        GROUPS
            .iter()
            .flat_map(|g| g.iter())
            .any(|h| r.source.contains(h))
    })
}

/// What a merge decided, with the diagnostics (which quote the text) left out.
fn decided(o: &MergeOutcome) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        o.text, o.edits, o.added, o.pins, o.created
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The premise of the shared plans: a merge looks at a host no vendor source is about only
    /// as text, so renaming such hosts before the merge renames them in its outcome.
    #[test]
    fn renaming_unrelated_hosts_commutes_with_the_merge(
        list in policy_list(),
        reqs in requirements(),
        turns in [0usize..4, 0usize..4, 0usize..2],
    ) {
        prop_assume!(!names_a_renamed_host(&reqs));
        let f = renaming(turns);
        let renamed = rename(&list, &f);
        let a = merge(&list, &reqs, &header());
        let b = merge(&renamed, &reqs, &header());
        let mut a_renamed = a.clone();
        a_renamed.text = rename(&a.text, &f);
        for e in &mut a_renamed.edits {
            e.text = rename(&e.text, &f);
        }
        for c in &mut a_renamed.created {
            for s in &mut c.sources {
                *s = rename(s, &f);
            }
        }
        prop_assert_eq!(decided(&a_renamed), decided(&b), "{:?} renamed {:?}", list, renamed);
        prop_assert_eq!(a.diagnostics.len(), b.diagnostics.len());
    }

    /// A shared merge is the merge of the policy's own text, for the policy whose shape was
    /// merged first and for another of the same shape (whose plan it takes).
    #[test]
    fn a_shared_plan_is_the_merge_of_the_own_text(
        list in policy_list(),
        reqs in requirements(),
        turns in [0usize..4, 0usize..4, 0usize..2],
    ) {
        let other = rename(&list, &renaming(turns));
        for text in [&list, &other] {
            let shared = merge_shared(text, &reqs, &header());
            let own = merge(text, &reqs, &header());
            prop_assert_eq!(format!("{shared:?}"), format!("{own:?}"), "{:?}", text);
        }
    }
}

/// Guards the properties against going vacuous: most generated lists have a shape, and the
/// renamed list often has the same one (so the second merge takes the first one's plan).
#[test]
fn generated_lists_share_shapes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut shaped, mut shared, mut renamed_differently) = (0, 0, 0);
    for i in 0..1000 {
        let list = policy_list().new_tree(&mut runner).unwrap().current();
        let reqs = requirements().new_tree(&mut runner).unwrap().current();
        let other = rename(&list, &renaming([1 + i % 2, 1 + i % 3, 1]));
        let (a, b) = (shape_of(&list, &reqs), shape_of(&other, &reqs));
        shaped += usize::from(a.is_some());
        if let (Some(a), Some(b)) = (a, b) {
            shared += usize::from(a.text == b.text && list != other);
            renamed_differently += usize::from(a.text != b.text);
        }
    }
    assert!(shaped > 300, "{shaped} of 1000 lists have a shape");
    assert!(
        shared > 200,
        "{shared} of 1000 renamed lists share the shape"
    );
    // A rename can change a shape: a host the requirements name, renamed to one they do not.
    assert!(renamed_differently > 0);
}

#[test]
fn a_fleet_template_is_one_shape() {
    let reqs = vec![
        Requirement::new("script-src", "https://muserelay.com", "muserelay"),
        Requirement::new("connect-src", "wss://muserelay.com", "muserelay"),
    ];
    let site = |n: &str| {
        format!("default-src 'self'; script-src 'self' https://static.{n}.example https://cdn.muserelay.com; connect-src https://api.{n}.example")
    };
    let (a, b) = (
        shape_of(&site("tenant1"), &reqs).unwrap(),
        shape_of(&site("tenant2"), &reqs).unwrap(),
    );
    assert_eq!(a.text, b.text);
    // The vendor's own subdomain keeps its text: it covers the vendor's source or not.
    assert!(a.text.contains("https://cdn.muserelay.com"), "{}", a.text);
    assert!(!a.text.contains("tenant1"), "{}", a.text);
    assert_eq!(a.text.len(), site("tenant1").len());
    // A host of another length is another shape.
    assert_ne!(shape_of(&site("tenant10"), &reqs).unwrap().text, a.text);
    // A policy whose text holds a placeholder's host keeps its own merge.
    let at = a.text.find("https://z").unwrap();
    let placeholder = a.text[at..].split(' ').next().unwrap();
    let holding = format!("{}; img-src {placeholder}", site("tenant1"));
    assert!(shape_of(&holding, &reqs).is_none(), "{holding}");
}
