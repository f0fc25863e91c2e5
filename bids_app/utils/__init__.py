"""Pure helpers shared by the levels."""
