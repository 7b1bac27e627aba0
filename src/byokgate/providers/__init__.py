"""Provider adapters: pure translation between byokgate and each provider's wire format.

Nothing in this package opens a socket or touches the database (``byokgate.transport`` does the I/O);
settings reach it only through ``setup.py`` at start-up. The core never names a provider: it asks the
registry. How to add one: ``docs/adding-a-provider.md``.
"""
