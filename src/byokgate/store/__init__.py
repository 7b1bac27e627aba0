"""Persistence: SQLAlchemy tables, repositories returning domain objects, Alembic migrations.

No SQL is written outside this package.
"""
