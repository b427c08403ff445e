"""Per-channel renderers: the same digest as an e-mail, a chat message, a webhook body, feed entries."""
