"""The server-rendered dashboard: Jinja pages, a little JS, Plotly from the installed package."""
