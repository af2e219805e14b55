"""Shipped alert templates (a package so that the *.j2 files ship as package data)."""
