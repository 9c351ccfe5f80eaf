"""WS-Policy for secure sessions: export WCF's policy shapes, import them from a WSDL, explain.

* `binding_policy_element` / `message_policy_element`: settings → ``wsp:Policy`` (WCF's
  shapes);
* `import_wsdl`: a WSDL → `ImportedEndpoint` (address, SOAP version, settings, service
  certificate, operations); `import_policy` for a bare policy;
* `explain_endpoint`: plain words for ``wssc inspect``.

Each takes the bootstrap shape(s) and security mode to use (`BootstrapShape`); the registry
(`wssc.bootstrap.registry`) fills them in: `policy_for`, `settings_from_wsdl`,
`settings_from_policy`, `explain`.
"""

from .explain import explain_endpoint
from .export import binding_policy_element, export_notes, message_policy_element
from .model import ImportedEndpoint, ImportedPolicy, Operation, PolicyEvidence
from .policy_import import import_policy
from .shapes import BootstrapShape, SecurityMode
from .wsdl_import import import_wsdl

__all__ = [
    "BootstrapShape",
    "ImportedEndpoint",
    "ImportedPolicy",
    "Operation",
    "PolicyEvidence",
    "SecurityMode",
    "binding_policy_element",
    "explain_endpoint",
    "export_notes",
    "import_policy",
    "import_wsdl",
    "message_policy_element",
]
