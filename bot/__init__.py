"""govbot's front ends: the CLI, Slack, Teams and the web chat, over the `knowledge` core."""
