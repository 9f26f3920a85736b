"""Every SQL statement of the case file lives in this package: ``schema`` (tables,
versions, migrations, opening) and ``db`` (:class:`CaseDB`, the queries behind
:class:`workbench.case.Case`).  Nothing else in the workbench speaks SQL to a case.
"""

from workbench.case.store.db import CaseDB
from workbench.case.store.schema import (
    DDL_V1,
    FORMAT,
    SCHEMA_VERSION,
    SQLITE_MAGIC,
    connect,
    recover,
)

__all__ = ["DDL_V1", "FORMAT", "SCHEMA_VERSION", "SQLITE_MAGIC", "CaseDB", "connect", "recover"]
