"""Pages for managers and information governance: who was shown which child."""
