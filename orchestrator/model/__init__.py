"""The model: the scenario language as plain data (YAML reading, topology, steps, checks, impairments, suite). No I/O beyond reading its files; imports only base."""
