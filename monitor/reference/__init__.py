"""The reference target: the points / Top3 / rewards / tasks service the built-in suites speak.

It imports nothing of the monitor, so it can be read and deployed on its own.
"""
