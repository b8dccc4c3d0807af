"""Tests that drive third-party tools (gphoto2, tshark, ...) against our programs."""
