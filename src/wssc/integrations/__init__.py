"""Integrations of wssc with other SOAP stacks (:mod:`wssc.integrations.zeep`)."""
