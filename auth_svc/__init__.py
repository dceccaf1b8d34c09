"""auth_svc: users, logins, access JWTs (EdDSA), refresh-token families, JWKS, audit log."""
