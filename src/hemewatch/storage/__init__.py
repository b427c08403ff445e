"""Storage: SQLAlchemy Core tables, engine set-up with automatic migrations, repository functions."""
