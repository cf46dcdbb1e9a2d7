"""Errors as the HTTP layer answers them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiError(Exception):
    status: int
    message: str

    def body(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
