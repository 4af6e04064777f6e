//! Snapshots of `find()`: sites (place, context, decoded value), includes and lints, for every
//! fixture, the vendor's seed snippet and h5bp's policy. Each snapshot was read and checked by
//! hand against httpd's behaviour (the values themselves are also checked against a real
//! httpd in `apache_server.rs`).

use crate::common;

use common::apache::{find, render, FIXTURES};

fn snapshot(name: &str, path: &str, src: &[u8]) {
    let scan = find(path, src);
    let text = render(src, &scan);
    common::snapshots("apache").bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn fixtures() {
    for f in FIXTURES {
        snapshot(f.name, &format!("{}.conf", f.name), &f.bytes());
    }
}

#[test]
fn sections_give_the_context() {
    let src = "ServerRoot \"/etc/apache2\"\nInclude ports.conf\nIncludeOptional sites-enabled/*.conf\n\
<VirtualHost *:443 [::]:443>\n    <Directory /var/www>\n        <If \"%{HTTP_HOST} == 'example.com'\">\n            \
Header set Content-Security-Policy \"default-src 'self'\" env=!NO_CSP\n        </If>\n    </Directory>\n    \
ServerName example.com\n</VirtualHost>\n<Macro Site $host>\n  <VirtualHost *:80>\n    ServerName $host\n    \
Header set Content-Security-Policy \"default-src 'self' https://$host\"\n  </VirtualHost>\n</Macro>\n\
RequestHeader set Content-Security-Policy \"not a response header\"\nHeader set Content-Security-Policy \"x\" early\n";
    snapshot("contexts", "sites-available/example.conf", src.as_bytes());
}

#[test]
fn muserelay_seed_as_htaccess() {
    if !common::have_seeds() {
        return;
    }
    let src = std::fs::read(common::seed("muserelay-apache.htaccess")).unwrap();
    snapshot("muserelay-htaccess", "www/.htaccess", &src);
}

#[test]
fn muserelay_seed_inside_a_virtual_host() {
    if !common::have_seeds() {
        return;
    }
    let seed = std::fs::read_to_string(common::seed("muserelay-apache.htaccess")).unwrap();
    let src = format!("<VirtualHost *:443>\n    ServerName shop.example\n{seed}</VirtualHost>\n");
    snapshot("muserelay-vhost", "sites-enabled/shop.conf", src.as_bytes());
}

#[test]
fn h5bp_content_security_policy() {
    if !common::have_corpus() {
        return;
    }
    let path = common::corpus_dir().join("apache/h5bp/h5bp/security/content-security-policy.conf");
    let src = std::fs::read(&path).unwrap();
    snapshot(
        "h5bp-csp",
        "h5bp/security/content-security-policy.conf",
        &src,
    );
}

#[test]
fn open_conditional_section_and_unterminated_quote() {
    // certbot's missing-double-quote-1724 and two-blocks-one-line-1693, with a CSP.
    let src = "<IfModule mod_ssl.c>\n<VirtualHost *:443>\n    Header set Content-Security-Policy \"default-src 'self'   \n</VirtualHost> </IfModule>\n";
    snapshot("open-conditional", "ssl.conf", src.as_bytes());
}
