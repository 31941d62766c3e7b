"""Our own course simulator, the client side of `manage.py simulate`. It only talks HTTP
to a running site, and each step can be tested alone:

- scenario.py: reading the course's scenario file, a made-up scenario of its shape, and
  one set of usernames per concurrent client;
- client.py: each action as an HTTP request, the connection, and the replay;
- report.py: latency percentiles, throughput and errors of a replay;
- verification.py: the state a scenario must leave behind, read back and compared.

Standard library only (and timeline.parsing, which is too): the benchmarks import it
without Django.
"""
