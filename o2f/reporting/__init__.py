"""Reports: paper tables, the claims (does the paper hold?), figures and the index page."""
