"""ptpipctl: the command-line client of ptpipd. Speaks JSON-RPC only; imports nothing from ptpipd."""

__version__ = "0.1.0"
