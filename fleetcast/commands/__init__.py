"""Sub-commands of the CLI: one module each, discovered by :func:`fleetcast.cli.build_parser`."""
