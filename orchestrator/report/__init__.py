"""The reports: report.json, JUnit, the terminal, the run page with its ladder diagram, the templates."""
