"""Grading on several machines (issue 18): Dask's scheduler, the lab machines' workers and the course's TLS."""
