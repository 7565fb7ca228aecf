"""User-changeable settings stored in central.db (app_settings), seeded from seed_data/."""
