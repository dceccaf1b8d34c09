"""Shared plumbing for every EnergyPulse service: settings, logging, errors, database, server bootstrap."""
