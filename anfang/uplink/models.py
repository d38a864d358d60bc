"""The outbox to the police platform (GA/T 1400 视图库), with retry and status (Art 9)."""
