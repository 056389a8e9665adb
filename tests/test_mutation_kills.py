"""Tests that kill the mutants mutation testing left alive (tests/corpus/MUTATION.md)."""

from __future__ import annotations
