"""What people can do, once for chat, web and command line.

Each function takes the caller's transaction and the caller (usecases.access),
asks the one access policy (``domain.access``) and returns domain models or
plain dataclasses; callers render. `Tx` is the transaction type they take, for
callers that may not import the storage themselves (chat handlers).
"""

from storage.db import Tx

__all__ = ["Tx"]
