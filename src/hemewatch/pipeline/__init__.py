"""The orchestrator: fetch or read records → store new versions → classify → diff → enqueue."""
