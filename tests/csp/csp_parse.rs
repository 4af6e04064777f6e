//! The policy list as browsers read it: structure and byte spans, snapshotted for the seeds and
//! the corner cases of CSP3 §2.2.1.
use crate::common;
use crate::csp_support;

use csp_support::render_list;
use csppatch::csp::parse::{parse, DirectiveState};

fn snap(name: &str, text: &str) {
    let rendered = format!("{text}\n---\n{}", render_list(&parse(text)));
    common::snapshots("csp").bind(|| insta::assert_snapshot!(format!("parse_{name}"), rendered));
}

#[test]
fn seeds() {
    if !common::have_seeds() {
        return;
    }
    for name in [
        "ortto-us.csp",
        "ortto-custom-domain-eu.csp",
        "ortto-level3.csp",
    ] {
        let text = std::fs::read_to_string(common::seed(name)).unwrap();
        snap(&format!("seed_{name}"), text.trim_end());
    }
}

#[test]
fn whitespace_case_and_separators() {
    snap(
        "corner_cases",
        "\tDefault-SRC  'self'\x0c;;img-src;  IMG-src data: ;script-src ‘self’;\r\n connect-src 'none' wss:, ,style-src\x0b'self'",
    );
}

#[test]
fn spans_cover_the_input_exactly() {
    let text = " default-src 'self' ; img-src  data: blob: ,script-src x.example";
    let list = parse(text);
    for p in &list.policies {
        for d in &p.directives {
            assert_eq!(&text[d.name_span.clone()].to_ascii_lowercase(), &d.name);
            for t in &d.sources {
                assert_eq!(&text[t.span.clone()], t.text);
                assert!(d.span.start <= t.span.start && t.span.end <= d.span.end);
            }
            assert!(p.span.start <= d.span.start && d.span.end <= p.span.end);
        }
    }
    // Policies tile the input with the commas between them.
    let spans: Vec<_> = list.policies.iter().map(|p| p.span.clone()).collect();
    assert_eq!(spans.first().unwrap().start, 0);
    assert_eq!(spans.last().unwrap().end, text.len());
    for w in spans.windows(2) {
        assert_eq!(w[0].end + 1, w[1].start);
        assert_eq!(&text[w[0].end..w[1].start], ",");
    }
}

#[test]
fn agrees_with_servo_on_directive_sets() {
    if !common::have_seeds() {
        return;
    }
    // Servo's parser (content-security-policy 0.5) as oracle for names, duplicates and values
    // of ASCII policies; it does not skip non-ASCII directives, which CSP3 and Firefox do.
    for text in [
        "default-src 'self'; DEFAULT-SRC https:; img-src\tdata:  blob: ;",
        "a b c;;; d, e f, ;g",
        "script-src 'nonce-x' 'strict-dynamic'; object-src 'none'; base-uri 'none'",
        std::fs::read_to_string(common::seed("ortto-us.csp"))
            .unwrap()
            .trim_end(),
    ] {
        let ours = parse(text);
        let servo = content_security_policy::CspList::parse(
            text,
            content_security_policy::PolicySource::Header,
            content_security_policy::PolicyDisposition::Enforce,
        );
        let ours: Vec<String> = ours
            .enforced()
            .map(|p| {
                p.directives
                    .iter()
                    .filter(|d| d.state == DirectiveState::Effective)
                    .map(|d| {
                        format!("{} {}", d.name, d.values().join(" "))
                            .trim_end()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .collect();
        let theirs: Vec<String> = servo
            .0
            .iter()
            .map(|p| {
                p.to_string()
                    .split(';')
                    .map(|d| d.trim_end().to_string())
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .collect();
        assert_eq!(ours, theirs, "{text}");
    }
}
