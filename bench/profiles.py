"""Latency profiles of the scripted model: how long a response takes to start and to stream.

The figures stand for classes of models as an agent meets them on a long conversation
(time to first token grows with the prompt; prompt caching keeps it down on hosted APIs),
not for any one product.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..agent.script import Profile


@dataclass(frozen=True)
class LatencyProfile:
    name: str
    ttft_s: float
    tokens_per_s: float
    description: str

    def profile(self) -> Profile:
        return Profile(ttft_s=self.ttft_s, tokens_per_s=self.tokens_per_s)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "ttft_s": self.ttft_s, "tokens_per_s": self.tokens_per_s}


PROFILES: dict[str, LatencyProfile] = {
    p.name: p
    for p in (
        LatencyProfile("fast", 0.5, 100.0, "a fast hosted model (a small or mid-size model behind an API)"),
        LatencyProfile("slow", 1.5, 40.0, "a large hosted model (a frontier model, long prompts)"),
        LatencyProfile("local", 2.0, 30.0, "a local model on one workstation GPU (slow prefill of a long context)"),
        LatencyProfile("quick", 0.05, 600.0, "for --quick: short responses, so that the run takes seconds"),
        LatencyProfile("instant", 0.0, 0.0, "no model time at all (tests)"),
    )
}
DEFAULT = "fast"
QUICK = "quick"


class UnknownProfile(ValueError):
    pass


def get(name: str) -> LatencyProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(
            f"unknown profile {name!r}; the profiles are: {', '.join(PROFILES)}"
        ) from None
