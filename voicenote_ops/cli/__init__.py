"""Command-line layer: parses arguments, renders results, exits. No business logic here."""
