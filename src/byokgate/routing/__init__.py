"""Pure routing policy: a model name and a project's keys -> where the request goes. No I/O."""
