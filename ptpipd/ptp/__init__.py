"""The PTP layer (ISO 15740): data types, PTP strings, datasets and code tables.

Everything here is pure data conversion with no I/O; the PTP/IP and Fuji transports wrap these
bytes in their own containers. See ``shared/protocol/PTP.md`` for the protocol notes this
package implements. The package exports every public name of its modules (their ``__all__``).
"""

from . import codes, datasets, errors, types
from .codes import *  # noqa: F403
from .datasets import *  # noqa: F403
from .errors import *  # noqa: F403
from .types import *  # noqa: F403

__all__ = codes.__all__ + datasets.__all__ + errors.__all__ + types.__all__
