"""The API's resources, each a thin, declarative wrapper over the request path."""

from .personas import Personas
from .sessions import Sessions

__all__ = ["Personas", "Sessions"]
