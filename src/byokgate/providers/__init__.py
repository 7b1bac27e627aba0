"""Provider adapters: pure translation between byokgate and each provider's wire format.

Nothing in this package opens a socket, reads settings or touches the database; ``byokgate.transport``
does the I/O. The core never names a provider: it asks the registry.
"""
