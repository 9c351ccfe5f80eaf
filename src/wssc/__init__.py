"""wssc: WS-SecureConversation (WCF secure sessions) for Python.

Layers (imports flow downward only): ``cli`` / ``service`` / ``client`` drivers on top of the
sans-IO ``session`` engines, which use ``store``, ``security``, ``policy``, ``trust``,
``tokens``, ``crypto`` and ``xml``.
"""

__version__ = "0.1.0"
