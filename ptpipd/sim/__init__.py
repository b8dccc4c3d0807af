"""Simulated PTP/IP cameras."""
