"""Web pages: the public preference and unsubscribe pages, the agent screen (Jinja2)."""
