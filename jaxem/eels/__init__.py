"""q–E EELS (in progress)."""
