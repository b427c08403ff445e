"""View models: what each page and API response shows, built from storage queries and pure readers."""
