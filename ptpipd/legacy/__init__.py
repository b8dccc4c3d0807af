"""The seed tool's plain-text protocol, for old scripts: parser (pure) → adapter (through the JSON-RPC
dispatcher) → line server; and ``ptpipd -c`` one-shot mode."""
