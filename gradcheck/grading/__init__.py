"""Grading: rubrics turn a Result into points; outputs write gradebooks, JUnit, Gradescope
results and summaries; batch grades many submissions in parallel, resumably."""
