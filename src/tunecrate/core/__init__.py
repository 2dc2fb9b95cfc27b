"""Domain types, reference parsing, matching and errors. Imports nothing else of tunecrate."""
