"""The local store: records, cursors, runs and score history in one embedded file."""
