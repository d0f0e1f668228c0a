"""Source adapters: one sans-IO file per source format. See watcher.adapter for the API."""
