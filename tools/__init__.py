"""Maintenance scripts run from the repo root (a package so that tests import them as tools.*)."""
