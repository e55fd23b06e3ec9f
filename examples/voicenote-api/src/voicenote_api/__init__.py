"""The VoiceNote API: voice notes stored in PostgreSQL, with a notes-created counter in Redis."""
