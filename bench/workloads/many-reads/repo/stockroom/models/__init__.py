from .item import Item
from .location import Location
from .movement import Movement, MovementKind
from .supplier import Supplier

__all__ = ["Item", "Location", "Movement", "MovementKind", "Supplier"]
