"""The attack suite (issue 6): every test attacks a real ``wssc serve`` over HTTP on loopback
and asserts that the attack fails. The servers are the shared ones of ``tests/servers.py``
(one per argument list for the whole run); ``attack_kit.py`` has the tools."""
