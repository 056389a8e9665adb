"""Where cluster objects come from: a live API server, a snapshot, and (for traffic) Prometheus."""
