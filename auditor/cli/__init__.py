"""The `asm-audit` command line: one module per command; it only parses options and calls the engine."""
