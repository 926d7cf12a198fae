"""The base layer: errors and exit codes, interrupts, resource labels, placeholders. Imports nothing of the package."""
