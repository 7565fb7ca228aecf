"""The MCP server over Eve's tools: `chatstats mcp` (stdio) and /mcp on the API (streamable HTTP)."""
