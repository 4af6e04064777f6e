//! APA312 and CDY409 (a backend's own policy reaches the browser beside the one httpd or
//! Caddy adds): the note is on exactly the directives whose requests get two policies.
//! Expected lines derived by hand from what real httpd 2.4 and Caddy 2.6 sent for each shape
//! (tests/e2e/upstream_csp_servers.rs serves the HTTP cases again).

use std::path::Path;

use csppatch::dialect::DialectKind;

fn noted(kind: DialectKind, name: &str, src: &str, code: &str) -> Vec<usize> {
    let scan = kind
        .dialect()
        .find(Path::new(name), src.as_bytes())
        .expect("parses");
    scan.diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d| d.location.as_ref().unwrap().line)
        .collect()
}

/// mod_proxy_http puts the backend's headers in `headers_out` (`Header set` replaces them,
/// `Header always set` goes beside them); mod_proxy_fcgi in `err_headers_out`, the reverse.
#[test]
fn apache_note_follows_the_table_the_backend_lands_in() {
    let conf = "\
<VirtualHost *:80>
<Location /always/>
    Header always set Content-Security-Policy \"script-src 'self'\"
    ProxyPass http://app:3000/
</Location>
<Location /onsuccess/>
    Header set Content-Security-Policy \"script-src 'self'\"
    ProxyPass http://app:3000/
</Location>
<Location /unset/>
    Header unset Content-Security-Policy
    Header always set Content-Security-Policy \"script-src 'self'\"
    ProxyPass http://app:3000/
</Location>
<Location /alwaysunset/>
    Header always unset Content-Security-Policy
    Header always set Content-Security-Policy \"script-src 'self'\"
    ProxyPass http://app:3000/
</Location>
<Location /early/>
    Header unset Content-Security-Policy early
    Header always set Content-Security-Policy \"script-src 'self'\"
    ProxyPass http://app:3000/
</Location>
<Location /fa/>
    Header always set Content-Security-Policy \"script-src 'self'\"
    SetHandler \"proxy:fcgi://127.0.0.1:9000\"
</Location>
<Location /fs/>
    Header set Content-Security-Policy \"script-src 'self'\"
    SetHandler \"proxy:unix:/run/php/php-fpm.sock|fcgi://localhost\"
</Location>
<Location /ro/>
    Header always set Content-Security-Policy-Report-Only \"script-src 'self'\"
    ProxyPass http://app:3000/
</Location>
<Location /excluded/>
    Header always set Content-Security-Policy \"script-src 'self'\"
    ProxyPass !
</Location>
</VirtualHost>
<VirtualHost *:81>
Header always set Content-Security-Policy \"script-src 'self'\"
ProxyPassMatch ^/api/(.*)$ http://api:8080/$1
RewriteEngine on
RewriteRule ^/old/(.*)$ http://legacy/$1 [P,L]
RewriteRule ^/x$ /y [L]
</VirtualHost>
<VirtualHost *:82>
<Directory /var/www>
    Header always set Content-Security-Policy \"script-src 'self'\"
</Directory>
ProxyPass /app/ http://app:3000/
<FilesMatch \\.php$>
    SetHandler \"proxy:fcgi://127.0.0.1:9000\"
</FilesMatch>
</VirtualHost>
<VirtualHost *:83>
ProxyPass / http://other:3000/
</VirtualHost>
";
    // /always/, /alwaysunset/ (clears the always table only), /early/ (the unset runs
    // before the backend answers), /fs/ (fcgi: `Header set` is beside it), ProxyPassMatch and
    // RewriteRule [P]. Not /ro/ (Report-Only blocks nothing; the sibling Locations' policies
    // are for other paths), not *:82 (a <Directory> header is not applied to ProxyPass, and
    // `Header always set` replaces the fcgi backend's), not *:83 (no policy of its own).
    assert_eq!(
        noted(DialectKind::Apache, "site.conf", conf, "APA312"),
        vec![4, 18, 23, 31, 44, 46]
    );
}

/// Caddy writes a `header` without `defer` before the upstream answers and adds the
/// upstream's headers; `defer` (or a deletion in the block) replaces them, `+` adds anyway,
/// `header_down -Content-Security-Policy` drops the upstream's; sibling `handle`s are apart.
#[test]
fn caddy_note_is_where_the_upstream_policy_is_added() {
    let file = "\
example.com {
	handle /plain/* {
		header Content-Security-Policy \"script-src 'self'\"
		reverse_proxy app:3000
	}
	handle /defer/* {
		header {
			Content-Security-Policy \"script-src 'self'\"
			defer
		}
		reverse_proxy app:3000
	}
	handle /delete/* {
		header {
			Content-Security-Policy \"script-src 'self'\"
			-Server
		}
		reverse_proxy app:3000
	}
	handle /down/* {
		header Content-Security-Policy \"script-src 'self'\"
		reverse_proxy app:3000 {
			header_down -Content-Security-Policy
		}
	}
	handle /add/* {
		header +Content-Security-Policy \"script-src 'self'\" {
			defer
		}
		reverse_proxy app:3000
	}
	handle /default/* {
		header ?Content-Security-Policy \"script-src 'self'\"
		reverse_proxy app:3000
	}
	handle /ro/* {
		header Content-Security-Policy-Report-Only \"script-src 'self'\"
		reverse_proxy app:3000
	}
	handle /fall/* {
		route {
			header Content-Security-Policy \"script-src 'self'\"
		}
		php_fastcgi 127.0.0.1:9000
	}
	handle {
		header Content-Security-Policy \"script-src 'self'\"
		respond static
	}
}
other.example {
	handle /api/* {
		reverse_proxy api:8080
	}
	handle {
		header Content-Security-Policy \"script-src 'self'\"
		file_server
	}
}
";
    assert_eq!(
        noted(DialectKind::Caddy, "Caddyfile", file, "CDY409"),
        vec![4, 30, 44]
    );
}
