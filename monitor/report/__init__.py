"""Reports: console summary, JSON, JUnit XML and HTML."""
