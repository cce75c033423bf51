"""Storage: settings file, image files and their PNG recipes, names, history, folder locks.

May import: the foundation and backends."""
