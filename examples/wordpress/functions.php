<?php
/**
 * Theme functions: security headers.
 */
add_action('send_headers', function () {
    header("Content-Security-Policy: default-src 'self'; " .
           "script-src 'self'; " .
           "style-src 'self' 'unsafe-inline'; " .
           "img-src 'self' data:;");
});
