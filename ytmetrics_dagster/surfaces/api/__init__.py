"""The HTTP API (/api/v1): JSON over the same warehouse read API and the same write paths as
the CLI and the MCP server, served beside the dashboard."""
