"""Eligibility: criteria read into structured facts with evidence, and a patient pre-screen (pure)."""
