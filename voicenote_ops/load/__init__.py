"""Load against a lab's load balancer: a fixed-rate keep-alive client and its report."""
