"""WS-Policy for secure sessions: export WCF's policy shapes, import them from a WSDL, explain.

* `policy_for` / `message_policy`: settings → ``wsp:Policy`` (WCF's shapes);
* `settings_from_wsdl`: a WSDL → `ImportedEndpoint` (address, SOAP version,
  settings, service certificate, operations); `settings_from_policy` for a bare policy;
* `explain`: plain words for ``wssc inspect``.

Each takes the bootstrap shape(s) to use (`BootstrapShape`); the registry
(`wssc.bootstrap.registry`) has the same functions with its shapes filled in.
"""

from .explain import explain
from .export import export_notes, message_policy, policy_for
from .model import ImportedEndpoint, ImportedPolicy, Operation, PolicyEvidence
from .policy_import import settings_from_policy
from .shapes import BootstrapShape
from .wsdl_import import settings_from_wsdl

__all__ = [
    "BootstrapShape",
    "ImportedEndpoint",
    "ImportedPolicy",
    "Operation",
    "PolicyEvidence",
    "explain",
    "export_notes",
    "message_policy",
    "policy_for",
    "settings_from_policy",
    "settings_from_wsdl",
]
