"""Delivery channels: the thin network edges (SMTP, HTTP webhooks, Apprise)."""
