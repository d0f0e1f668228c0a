"""watcher: watches official public sources for named people and alerts the people who protect them."""

__version__ = "0.1.0"
