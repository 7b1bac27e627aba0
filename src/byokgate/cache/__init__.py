"""The response cache: exact-match answers scoped to a project, replayed in the mode the client asked for."""
