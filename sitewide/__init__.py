"""What every request of the site passes through, whichever app serves it: the request
log and request ids (jsonlog, middleware), /metrics, /health and /ready (metrics, probes),
the client's address behind proxies (client_ip), what the site accepts at its door
(request_policy) and what counts as a database outage (outage).

The bottom of the import graph (docs/architecture.md): timeline and simapi import from
here; nothing here imports them or the settings package.
"""
