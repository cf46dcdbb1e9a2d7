"""The benchmark: sync, parallel and async tool calling on the same scripted workloads,
against the lower bound that the scripts allow (``asyncfc-agent bench``)."""
