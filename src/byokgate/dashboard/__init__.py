"""The dashboard: server-rendered pages for people, signed in with a password, beside the admin API."""
