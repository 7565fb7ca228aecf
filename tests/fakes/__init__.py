"""Fakes at the outer boundary only: stand-ins for outside services, spoken to over real protocols."""
