"""Service side: contracts and WSDL (`.contract`, `.wsdl`), hosts."""
