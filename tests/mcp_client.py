"""The official MCP Python SDK as a real client of `keysweep mcp` (run by tests/mcp.rs).

    python3 tests/mcp_client.py KEYSWEEP_BINARY WORKDIR KEY

Starts the server over stdio, initializes, lists the tools, calls each one, sends bad
arguments and an unknown tool, and prints one JSON object with what it saw.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
try:  # SDK 2.x
    from mcp import MCPError as McpError
except ImportError:  # SDK 1.x
    from mcp.shared.exceptions import McpError


def field(obj, snake, camel):
    """SDK 2.x names fields in snake_case, 1.x in camelCase."""
    return getattr(obj, snake, None) if hasattr(obj, snake) else getattr(obj, camel)


async def error_code(session, name, args):
    try:
        await session.call_tool(name, args)
    except McpError as e:
        return e.error.code
    return None


async def main(binary, workdir, key):
    params = StdioServerParameters(command=binary, args=["mcp", "--no-config"], cwd=workdir)
    seen = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            seen["server"] = field(init, "server_info", "serverInfo").name
            seen["protocol"] = field(init, "protocol_version", "protocolVersion")
            tools = await session.list_tools()
            seen["tools"] = sorted(t.name for t in tools.tools)
            r = await session.call_tool("scan_text", {"text": f"config:\n  token: {key}\n"})
            seen["scan_text"] = field(r, "structured_content", "structuredContent")
            seen["scan_text_raw"] = r.content[0].text
            r = await session.call_tool("redact_text", {"text": f"a {key} b {key}"})
            seen["redact_text"] = field(r, "structured_content", "structuredContent")
            r = await session.call_tool("scan_path", {"path": workdir})
            seen["scan_path"] = field(r, "structured_content", "structuredContent")
            r = await session.call_tool("explain_rule", {"id": "github-pat"})
            seen["explain_rule"] = field(r, "structured_content", "structuredContent")
            seen["bad_args"] = await error_code(session, "scan_text", {})
            seen["bad_type"] = await error_code(session, "scan_text", {"text": 5})
            seen["unknown_tool"] = await error_code(session, "no_such_tool", {})
            seen["unknown_rule"] = await error_code(session, "explain_rule", {"id": "nope"})
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
