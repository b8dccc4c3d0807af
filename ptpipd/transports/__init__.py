"""Where clients connect: NDJSON JSON-RPC over a Unix socket and over TCP, through one handler."""
