"""Fault injection actions."""
