"""SLO maths and soak trend analysis (pure functions)."""
