"""Services: validate input, choose playbooks and variables, interpret results."""
