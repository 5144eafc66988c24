"""Face-recognition vulnerability: the protocol, its metrics tables, verify."""
