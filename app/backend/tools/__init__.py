"""Eve's tools: typed, read-only functions over the mirror, for a model, the offline router and MCP clients."""
