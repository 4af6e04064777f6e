server {
    listen 80;
    server_name shop.example.com;
    root /var/www/shop;

    # Security headers. The policy only allows our own origin and our CDN.
    add_header Content-Security-Policy "default-src 'self'; script-src 'self' https://cdn.example.com; img-src 'self' data:; frame-ancestors 'none'" always;
    add_header X-Content-Type-Options nosniff always;

    location / {
        try_files $uri $uri/ =404;
    }

    location /api/ {
        # This location sets its own header, so it inherits none of the server's headers:
        # csppatch warns that the CSP above does not reach it.
        add_header Cache-Control "no-store";
        proxy_pass http://127.0.0.1:9000;
    }
}
