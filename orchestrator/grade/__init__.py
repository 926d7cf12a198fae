"""Grading a class: submissions found, compiled and played, results cached, the gradebook written."""
