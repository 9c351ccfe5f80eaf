"""Service side: contracts and WSDL (:mod:`.contract`, :mod:`.wsdl`), hosts."""
